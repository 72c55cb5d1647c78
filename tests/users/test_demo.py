"""The user-operations demo: consistent with the events, safe to run twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import Count

from analytics.models import Event
from ops_platform.dashboard.demo import demo_seed
from users.models import (
    ChannelSpend,
    Coupon,
    CouponCampaign,
    CouponHoldout,
    CouponRedemption,
    Customer,
    Segment,
    StageDaily,
    StageFlow,
)
from users.services.coupons import coupon_campaign_results

END = date(2026, 3, 31)


@pytest.mark.django_db
def test_demo_builds_customers_spend_segments_and_campaigns_from_the_events_and_runs_twice():
    demo_seed(customers=1200, days=45, seed=3, end=END, merchants=20)
    counts = (Customer.objects.count(), ChannelSpend.objects.count(), Segment.objects.count(),
              Coupon.objects.count(), CouponRedemption.objects.count(), Event.objects.count())

    demo_seed(customers=1200, days=45, seed=3, end=END, merchants=20)

    assert (Customer.objects.count(), ChannelSpend.objects.count(), Segment.objects.count(), Coupon.objects.count(),
            CouponRedemption.objects.count(), Event.objects.count()) == counts
    assert Customer.objects.count() == Event.objects.values("person_id").distinct().count()
    assert set(CouponCampaign.objects.values_list("kind", flat=True)) == {"new_user", "win_back"}
    assert CouponHoldout.objects.exists()
    for campaign in CouponCampaign.objects.all():
        results = coupon_campaign_results(campaign_id=campaign.pk)
        assert results["issued"] > 0
        assert results["redeemed"] > 0
        assert results["suspicious"] >= 1
        assert results["committed"] <= results["budget"]
    # every accepted redemption is a real paid order carrying the code
    redeemed = set(CouponRedemption.objects.filter(accepted=True).values_list("coupon__code", flat=True))
    in_events = {code for code in Event.objects.filter(event="order_paid").values_list(
        "properties__coupon_code", flat=True) if code}
    assert redeemed <= in_events
    # the life cycle has a history: counts on every day after the first, flows between stages, every stage used
    assert StageDaily.objects.values("date").distinct().count() == 45
    assert StageFlow.objects.exclude(from_stage="").exists()
    last = dict(StageDaily.objects.filter(date=END + timedelta(days=1)).values_list("stage", "customers"))
    assert last == {row["stage"]: row["n"] for row in Customer.objects.values("stage").annotate(n=Count("pk"))}
    assert {"new", "activated", "active", "at_risk", "churned"} <= set(last)
    assert max(last.values()) < 0.5 * Customer.objects.count()
