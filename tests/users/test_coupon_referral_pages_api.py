"""Coupon and referral pages and API: create, generate, issue, results, bad input, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ops_platform.core.roles import Role
from users.models import Coupon, CouponCampaign
from users.services.segments import segment_save


def campaign_body(segment_id=None, **fields) -> dict:
    now = timezone.now()
    body = {"name": "Welcome", "kind": "new_user", "discount_type": "amount", "face_value": "10",
            "valid_from": (now - timedelta(days=1)).isoformat(), "valid_to": (now + timedelta(days=30)).isoformat(),
            "budget": "25", "per_customer_limit": 1, "segment": segment_id, "holdout_share": "0"}
    body.update(fields)
    return body


def test_api_campaign_lifecycle(api_client_for, customers):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    client = api_client_for(Role.USER_OPS)

    created = client.post("/api/v1/users/coupons/", campaign_body(segment.pk), format="json")
    campaign_id = created.json()["id"]
    generated = client.post(f"/api/v1/users/coupons/{campaign_id}/codes/", {"count": 5}, format="json")
    preview = client.get(f"/api/v1/users/coupons/{campaign_id}/issue/")
    refused = client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {}, format="json")
    nothing_yet = client.get(f"/api/v1/users/coupons/{campaign_id}/").json()["results"]["issued"]
    issued = client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {"allow_partial": True}, format="json")
    detail = client.get(f"/api/v1/users/coupons/{campaign_id}/")

    assert created.status_code == 201
    assert generated.json() == {"generated": 5}
    assert preview.json() == {"members": 3, "holdout": 0, "treatment": 3, "at_limit": 0, "affordable": 2,
                              "covered": 2, "not_covered": 1, "code_value": 10.0, "budget_left": 25.0,
                              "needs_confirmation": True}
    assert (refused.status_code, refused.json()["code"], list(refused.json()["errors"])) == (
        409, "budget_short", ["allow_partial"])
    assert nothing_yet == 0
    assert issued.json()["issued"] == 2
    assert issued.json()["stopped_by_budget"] is True
    assert issued.json()["not_covered"] == 1
    assert issued.json()["message"] == ("Budget reached: 2 codes issued to a random sample of the treatment group; "
                                        "1 customers got no code and are in neither group.")
    assert detail.json()["results"]["issued"] == 2
    lift = detail.json()["results"]["lift"]
    assert lift["conversion"]["verdict"] == "too_small" and lift["spend"]["verdict"] == "too_small"


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.PM, Role.ANALYST])
def test_api_issue_preview_and_issue_are_for_user_ops(api_client_for, customers, role):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    campaign_id = api_client_for(Role.USER_OPS).post("/api/v1/users/coupons/", campaign_body(segment.pk),
                                                     format="json").json()["id"]
    client = api_client_for(role)

    assert client.get(f"/api/v1/users/coupons/{campaign_id}/issue/").status_code == 403
    assert client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {"allow_partial": True},
                       format="json").status_code == 403
    assert Coupon.objects.filter(customer__isnull=False).count() == 0


def test_api_issue_bad_flag_is_a_400_with_a_field_error(api_client_for, customers):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    client = api_client_for(Role.USER_OPS)
    campaign_id = client.post("/api/v1/users/coupons/", campaign_body(segment.pk), format="json").json()["id"]

    response = client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {"allow_partial": "perhaps"},
                           format="json")

    assert response.status_code == 400 and "allow_partial" in response.json()["errors"]
    assert client.get("/api/v1/users/coupons/999999/issue/").status_code == 404


def test_api_campaign_bad_fields_are_field_errors(api_client_for, db):
    response = api_client_for(Role.USER_OPS).post("/api/v1/users/coupons/", campaign_body(
        face_value="0", valid_to="2020-01-01T00:00:00+08:00", holdout_share="0.9"), format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"holdout_share"}
    assert CouponCampaign.objects.count() == 0


def test_api_campaign_model_rules_are_field_errors(api_client_for, db):
    response = api_client_for(Role.USER_OPS).post("/api/v1/users/coupons/", campaign_body(
        face_value="0", valid_to="2020-01-01T00:00:00+08:00"), format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"face_value", "valid_to"}


def test_api_issue_to_one_customer_over_the_limit_is_a_400(api_client_for, customers):
    client = api_client_for(Role.USER_OPS)
    campaign_id = client.post("/api/v1/users/coupons/", campaign_body(), format="json").json()["id"]
    client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {"customer": "alice"}, format="json")

    again = client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {"customer": "alice"}, format="json")

    assert again.status_code == 400
    assert again.json()["errors"] == {"customer": ["Per-customer limit reached."]}
    assert Coupon.objects.filter(customer__isnull=False).count() == 1


def test_api_issue_without_a_segment_is_a_400(api_client_for, customers):
    client = api_client_for(Role.USER_OPS)
    campaign_id = client.post("/api/v1/users/coupons/", campaign_body(), format="json").json()["id"]

    response = client.post(f"/api/v1/users/coupons/{campaign_id}/issue/", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["segment"]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.PM])
def test_api_only_user_ops_and_admins_run_campaigns(api_client_for, db, role):
    response = api_client_for(role).post("/api/v1/users/coupons/", campaign_body(), format="json")

    assert response.status_code == 403
    assert CouponCampaign.objects.count() == 0


def test_api_redemptions_and_referrers_are_records(api_client_for, customers):
    campaign_id = api_client_for(Role.USER_OPS).post("/api/v1/users/coupons/", campaign_body(),
                                                     format="json").json()["id"]

    assert api_client_for(Role.ANALYST).get(f"/api/v1/users/coupons/{campaign_id}/redemptions/").status_code == 200
    assert api_client_for(Role.PM).get(f"/api/v1/users/coupons/{campaign_id}/redemptions/").status_code == 403
    assert api_client_for(Role.PM).get("/api/v1/users/referral/referrers/").status_code == 403
    assert api_client_for(Role.ANALYST).get("/api/v1/users/referral/referrers/").json()["top"][0]["referrer"] == "alice"
    assert api_client_for(Role.PM).get("/api/v1/users/referral/k-factor/").status_code == 200


def test_coupon_pages(client_for, customers):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    client = client_for(Role.USER_OPS)
    now = timezone.localdate()

    created = client.post("/users/coupons/", {
        "name": "Welcome", "kind": "new_user", "discount_type": "amount", "face_value": "10", "percent": "0",
        "cap": "0", "min_spend": "0", "valid_from": str(now - timedelta(days=1)),
        "valid_to": str(now + timedelta(days=9)),
        "budget": "100", "per_customer_limit": "1", "segment": segment.pk, "holdout_share": "0",
        "funded_by": "platform", "merchant_share": "0"})
    campaign = CouponCampaign.objects.get()
    issued = client.post(f"/users/coupons/{campaign.pk}/issue/")
    page = client.get(f"/users/coupons/{campaign.pk}/")

    assert created.status_code == 302
    assert issued.status_code == 302
    assert page.context["results"]["issued"] == 3
    html = page.content.decode()
    assert 'data-testid="holdout-lift"' in html and "not significant yet — n too small" in html


def test_coupon_page_previews_the_budget_and_asks_before_a_partial_issue(client_for, customers):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    client = client_for(Role.USER_OPS)
    campaign = CouponCampaign.objects.create(**{
        **{key: value for key, value in campaign_body(segment.pk).items() if key not in {"segment"}},
        "segment": segment, "budget": "20"})

    page = client.get(f"/users/coupons/{campaign.pk}/").content.decode()
    refused = client.post(f"/users/coupons/{campaign.pk}/issue/", follow=True).content.decode()
    assert Coupon.objects.filter(customer__isnull=False).count() == 0
    confirmed = client.post(f"/users/coupons/{campaign.pk}/issue/", {"allow_partial": "1"}, follow=True)

    assert "treatment group 3 still to receive a code; the budget left pays for 2 codes." in page
    assert 'data-testid="issue-shortfall"' in page and 'data-testid="allow-partial"' in page
    assert "The budget pays for 2 codes but the treatment group has 3 customers" in refused
    assert confirmed.status_code == 200
    assert Coupon.objects.filter(customer__isnull=False).count() == 2

def test_coupon_page_form_errors_are_shown(client_for, db):
    response = client_for(Role.USER_OPS).post("/users/coupons/", {"name": "", "budget": "-1"})

    assert response.status_code == 400
    assert {"name", "budget"} <= set(response.context["form"].errors)


def test_referral_page_for_a_pm_has_no_customer_ids(client_for, customers):
    response = client_for(Role.PM).get("/users/referral/")

    assert response.status_code == 200
    assert "top" not in response.context
    assert sum(row["referred_signups"] for row in response.context["k_factor"]) == 1
