"""Coupon fraud: "redeemed right after signup, never ordered again" is judged only on redemptions at least
FRAUD_OBSERVATION_WINDOW (14 days) old, as of a pinned "now" (a redemption from yesterday was flagged before); the
reasons are shown by their labels in the reader's language, the API keeps the codes."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from analytics.services.loading import events_load
from ops_platform.core.labels import code_label
from ops_platform.core.roles import Role
from tests.factories import event_row
from users.models import FRAUD_OBSERVATION_WINDOW, CouponFraudReason, CouponRedemption
from users.selectors import NEVER_ORDER_AFTER
from users.services.coupons import (
    QUICK_SIGNUP_REDEMPTION,
    coupon_campaign_create,
    coupon_campaign_results,
    coupon_issue_to_customer,
    coupon_redemptions_refresh,
)
from users.services.customers import customers_refresh

NEVER_AGAIN = CouponFraudReason.REDEEMED_RIGHT_AFTER_SIGNUP_NEVER_AGAIN.value
SECOND = timedelta(seconds=1)


def _campaign(now):
    return coupon_campaign_create(name="Welcome", kind="new_user", face_value=Decimal("10"), budget=Decimal("10000"),
                                  valid_from=now - timedelta(days=40), valid_to=now + timedelta(days=10),
                                  holdout_share=Decimal("0"))


def _redemptions(now, people: dict[str, dict]) -> int:
    """Each person visits 60 days before ``now``, gets a code, signs up ``signup_before`` before redeeming it at
    ``redeemed_at`` (no sign-up when None), and places ``other_orders`` more orders an hour after redeeming."""
    events_load([event_row("visit", name, now - timedelta(days=60), channel="wechat") for name in people])
    customers_refresh()
    campaign = _campaign(now)
    rows = []
    for name, spec in people.items():
        code = coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id=name, now=now - timedelta(days=39)).code
        at = spec["redeemed_at"]
        if spec.get("signup_before") is not None:
            rows.append(event_row("signup", name, at - spec["signup_before"]))
        rows.append(event_row("order_paid", name, at, order_id=f"{name}-coupon", amount=50, merchant_id="m",
                              coupon_code=code))
        rows += [event_row("order_paid", name, at + timedelta(hours=1 + n), order_id=f"{name}-{n}", amount=20,
                           merchant_id="m") for n in range(spec.get("other_orders", 0))]
    events_load(rows)
    customers_refresh()
    return campaign.pk


def _flags(campaign_id) -> dict[str, tuple[bool, list[str], object]]:
    return {r.order_id.removesuffix("-coupon"): (r.suspicious, r.reasons, r.judge_from)
            for r in CouponRedemption.objects.filter(coupon__campaign_id=campaign_id)}


def test_the_coupon_rule_watches_as_long_as_the_referral_rule():
    assert FRAUD_OBSERVATION_WINDOW == NEVER_ORDER_AFTER == timedelta(days=14)


def test_never_again_is_judged_only_from_the_window_edge_on(db):
    now = timezone.now()
    edge = now - FRAUD_OBSERVATION_WINDOW
    campaign_id = _redemptions(now, {
        "at_edge": {"redeemed_at": edge, "signup_before": timedelta(minutes=30)},
        "just_older": {"redeemed_at": edge - SECOND, "signup_before": timedelta(minutes=30)},
        "just_younger": {"redeemed_at": edge + SECOND, "signup_before": timedelta(minutes=30)},
        "yesterday": {"redeemed_at": now - timedelta(days=1), "signup_before": timedelta(minutes=30)},
        "ordered_again": {"redeemed_at": edge - timedelta(days=5), "signup_before": timedelta(minutes=30),
                          "other_orders": 1},
        "hour_exactly": {"redeemed_at": edge - timedelta(days=1), "signup_before": QUICK_SIGNUP_REDEMPTION},
        "hour_and_a_second": {"redeemed_at": edge - timedelta(days=1),
                              "signup_before": QUICK_SIGNUP_REDEMPTION + SECOND},
        "never_signed_up": {"redeemed_at": edge - timedelta(days=1)},
    })

    coupon_redemptions_refresh(campaign_id=campaign_id, now=now)

    assert _flags(campaign_id) == {
        "at_edge": (True, [NEVER_AGAIN], None),
        "just_older": (True, [NEVER_AGAIN], None),
        "just_younger": (False, [], edge + SECOND + FRAUD_OBSERVATION_WINDOW),
        "yesterday": (False, [], now - timedelta(days=1) + FRAUD_OBSERVATION_WINDOW),
        "ordered_again": (False, [], None),
        "hour_exactly": (True, [NEVER_AGAIN], None),
        "hour_and_a_second": (False, [], None),
        "never_signed_up": (False, [], None),
    }


def test_results_count_the_young_apart_and_a_later_read_judges_them(db):
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    campaign_id = _redemptions(now, {
        "old": {"redeemed_at": now - timedelta(days=20), "signup_before": timedelta(minutes=5)},
        "young": {"redeemed_at": yesterday, "signup_before": timedelta(minutes=5)},
        "younger": {"redeemed_at": now - timedelta(hours=2), "signup_before": timedelta(minutes=5)},
    })

    coupon_redemptions_refresh(campaign_id=campaign_id, now=now)
    first = coupon_campaign_results(campaign_id=campaign_id)
    coupon_redemptions_refresh(campaign_id=campaign_id, now=yesterday + FRAUD_OBSERVATION_WINDOW)
    later = coupon_campaign_results(campaign_id=campaign_id)

    assert (first["suspicious"], first["too_young_to_judge"], first["judge_from"]) == (
        1, 2, timezone.localtime(yesterday + FRAUD_OBSERVATION_WINDOW).date().isoformat())
    assert (later["suspicious"], later["too_young_to_judge"], later["judge_from"]) == (
        2, 1, timezone.localtime(now - timedelta(hours=2) + FRAUD_OBSERVATION_WINDOW).date().isoformat())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_never_again_flags_match_a_brute_force_reference(db, seed):
    rng = random.Random(seed)
    now = timezone.now()
    edge = now - FRAUD_OBSERVATION_WINDOW
    people = {}
    for n in range(30):
        redeemed_at = rng.choice([edge, edge - SECOND, edge + SECOND, now - timedelta(hours=rng.randint(1, 30 * 24)),
                                  edge - timedelta(minutes=rng.randint(1, 5000))])
        signup_before = rng.choice([None, timedelta(minutes=rng.randint(0, 59)), QUICK_SIGNUP_REDEMPTION,
                                    QUICK_SIGNUP_REDEMPTION + SECOND, timedelta(hours=rng.randint(2, 48))])
        people[f"p{n}"] = {"redeemed_at": redeemed_at, "signup_before": signup_before,
                           "other_orders": rng.choice([0, 0, 1, 2])}
    campaign_id = _redemptions(now, people)

    coupon_redemptions_refresh(campaign_id=campaign_id, now=now)

    expected = {}
    for name, spec in people.items():  # the reference: from the raw scenario, one person at a time
        quick = spec["signup_before"] is not None and spec["signup_before"] <= timedelta(hours=1)
        only_order = spec["other_orders"] == 0
        old_enough = now - spec["redeemed_at"] >= timedelta(days=14)
        flagged = quick and only_order and old_enough
        young = quick and only_order and not old_enough
        expected[name] = (flagged, [NEVER_AGAIN] if flagged else [],
                          spec["redeemed_at"] + timedelta(days=14) if young else None)
    assert _flags(campaign_id) == expected


# The reasons in words


def test_every_reason_code_has_a_label_in_the_vocabulary():
    for reason in CouponFraudReason:
        assert code_label("coupon_fraud_reason", reason.value) == str(reason.label) != reason.value


@pytest.fixture
def flagged(db):
    now = timezone.now()
    campaign_id = _redemptions(now, {"eve": {"redeemed_at": now - timedelta(days=20),
                                             "signup_before": timedelta(minutes=5)},
                                     "fay": {"redeemed_at": now - timedelta(days=1),
                                             "signup_before": timedelta(minutes=5)}})
    coupon_redemptions_refresh(campaign_id=campaign_id)
    return campaign_id


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_campaign_page_shows_reasons_by_label_and_the_young_apart(client_for, flagged, language):
    client = client_for(Role.USER_OPS)

    html = client.get(f"/users/coupons/{flagged}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    with translation.override(language):
        label = code_label("coupon_fraud_reason", NEVER_AGAIN)
    assert NEVER_AGAIN not in html
    assert f"<td>{label}</td>" in html
    assert 'data-testid="suspicious-count">1<' in html
    assert 'data-testid="too-young-to-judge"' in html and 'data-testid="judge-from-note"' in html


def test_the_redemptions_api_keeps_the_codes_and_adds_the_labels(api_client_for, flagged):
    client = api_client_for(Role.USER_OPS)

    rows = client.get(f"/api/v1/users/coupons/{flagged}/redemptions/?suspicious=true").json()["results"]

    assert [(r["reasons"], r["reason_labels"], r["judge_from"]) for r in rows] == [
        ([NEVER_AGAIN], [str(CouponFraudReason.REDEEMED_RIGHT_AFTER_SIGNUP_NEVER_AGAIN.label)], None)]
