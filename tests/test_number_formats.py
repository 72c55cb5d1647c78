"""Money and counts on pages carry thousands separators, with the filters the desk uses (``intcomma`` after
``floatformat``): the coupon page read "增量收入 23366.29" and "已占用 11240 / 12460" beside "30,223", and the
merchant's weekly health table "GMV 14523.74" where the desk reads "2,020,741.21"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.models import MerchantMetrics
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory
from users import views as user_views
from users.services.segments import segment_save

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_merchant_health_table_groups_thousands(client_for, language):
    merchant = MerchantFactory(code="M1")
    MerchantMetrics.objects.create(merchant=merchant, period_start=date(2026, 11, 16), orders=1234,
                                   gmv=Decimal("14523.74"), customers=1100, review_count=1500, health_score=80,
                                   computed_at=timezone.now())

    page = client_for(Role.ANALYST).get(f"/merchants/{merchant.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    row = page.split('data-testid="complete-week"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1,234</td><td class="num">14,523.74</td><td class="num">1,100</td>' in row
    assert '<td class="num">1,500</td>' in row


def test_the_coupon_page_groups_thousands(client_for, api_client_for, monkeypatch):
    segment = segment_save(name="All", rules={"op": "and", "conditions": []})
    now = timezone.now()
    campaign_id = api_client_for(Role.USER_OPS).post("/api/v1/users/coupons/", {
        "name": "Welcome", "kind": "new_user", "discount_type": "amount", "face_value": "1000",
        "valid_from": now.isoformat(), "valid_to": (now + timedelta(days=30)).isoformat(),
        "budget": "12460", "per_customer_limit": 1, "segment": segment.pk, "holdout_share": "0.1"},
        format="json").json()["id"]
    measured = user_views.coupon_campaign_results

    def results(**kwargs):  # the campaign's own results, with the trial's figures (a page formats what it gets)
        return {**measured(**kwargs), "incremental_revenue": 23366.29, "committed": 11240, "cost": 30223.4,
                "suspicious": 1200}

    monkeypatch.setattr(user_views, "coupon_campaign_results", results)

    page = client_for(Role.USER_OPS).get(f"/users/coupons/{campaign_id}/").content.decode()

    assert '<span class="kpi-value">23,366</span>' in page
    assert "11,240 / 12,460" in page and '<span class="kpi-value">30,223</span>' in page
    assert 'data-testid="suspicious-count">1,200</span>' in page
    assert "1,000.00 off" in page
