"""The user-operations part of the demo data set: customers built from the events (with the life-cycle history of
every day of the demo), channel spend per month, segments, and two coupon campaigns whose codes were issued (with a
holdout) and redeemed in real ``order_paid`` events — so results, incremental revenue and flags are computed from the
stream like everything else.

Everything is relative to ``end`` and drawn from a generator seeded by ``seed``; event uuids are derived from the
codes, so running it twice stores nothing new (campaigns and segments are found by name).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from analytics.services.loading import EventRow, events_load
from users.models import Coupon, CouponCampaign, CouponHoldout, Customer, Segment
from users.services.channels import channel_spend_save
from users.services.coupons import coupon_campaign_create, coupon_issue_to_segment, coupon_redemptions_refresh
from users.services.customers import customers_refresh
from users.services.lifecycle_history import lifecycle_history_backfill
from users.services.segments import segment_save, segments_rebuild_all

DEMO_NAMESPACE = uuid.UUID("6f1d3c52-5a55-4b7e-9a4e-2a2f0c7d8e91")
# Cost per new visitor by channel (paid channels only; organic and referral cost nothing here).
COST_PER_VISITOR = {"app_store": 45.0, "wechat": 32.0, "douyin": 38.0, "xiaohongshu": 40.0, "baidu_sem": 55.0,
                    "offline_flyer": 25.0}
SEGMENTS = [
    ("Recent repeat buyers", "Paid at least twice in the last 30 days.",
     {"op": "and", "conditions": [{"event": "order_paid", "operator": "gte", "value": 2, "days": 30}]}),
    ("New sign-ups without an order", "Signed up in the last 14 days and never ordered.",
     {"op": "and", "conditions": [{"field": "signed_up_at", "operator": "within_days", "value": 14},
                                  {"field": "orders", "operator": "eq", "value": 0}]}),
    ("Lapsed buyers", "Ordered before, now at risk or churned.",
     {"op": "and", "conditions": [{"field": "stage", "operator": "in", "value": ["at_risk", "churned"]},
                                  {"field": "orders", "operator": "gte", "value": 1}]}),
    ("Champions and loyal", "The best of the RFM grid.",
     {"op": "or", "conditions": [{"field": "rfm_segment", "operator": "in", "value": ["champions", "loyal"]}]}),
]
# name, kind, segment, face value, min spend, holdout, redeem rate, holdout order rate, days before end issued
CAMPAIGNS = [
    ("New-user ¥10", CouponCampaign.Kind.NEW_USER, "New sign-ups without an order", 10, 20, "0.1", 0.35, 0.12, 12),
    ("Win-back ¥15", CouponCampaign.Kind.WIN_BACK, "Lapsed buyers", 15, 40, "0.2", 0.18, 0.05, 21),
]


def _local(day: date, hour: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def _spend(end: date, rng: np.random.Generator) -> None:
    """Monthly spend per paid channel: new visitors of the month × cost per visitor × noise (one grouped query)."""
    months = (Customer.objects.filter(first_channel__in=list(COST_PER_VISITOR))
              .annotate(month=TruncMonth("first_seen_at", tzinfo=timezone.get_current_timezone()))
              .values("first_channel", "month").order_by("first_channel", "month").annotate(n=Count("person_id")))
    for row in months:
        start = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        last = min((start + timedelta(days=32)).replace(day=1) - timedelta(days=1), end)
        amount = row["n"] * COST_PER_VISITOR[row["first_channel"]] * float(rng.uniform(0.85, 1.15))
        channel_spend_save(channel=row["first_channel"], period_start=start, period_end=last,
                           amount=Decimal(str(round(amount, 2))), note="demo")


def _orders_with_codes(campaign: CouponCampaign, rng: np.random.Generator, *, redeem_rate: float,
                       holdout_rate: float, issued_at: datetime, end_at: datetime, merchants: list[str]) -> list:
    coupons = list(Coupon.objects.filter(campaign=campaign, customer__isnull=False)
                   .values_list("code", "customer__distinct_id").order_by("pk"))
    holdout = list(CouponHoldout.objects.filter(campaign=campaign).values_list("customer__distinct_id", flat=True)
                   .order_by("pk"))
    span = (end_at - issued_at).total_seconds()
    rows = []
    redeem = rng.random(len(coupons)) < redeem_rate
    for (code, who), used in zip(coupons, redeem, strict=True):
        wait = min(float(rng.exponential(span / 5)), span - 3600)
        amount = round(float(rng.gamma(6, 9)) + float(campaign.min_spend), 2)
        if used:
            rows.append(EventRow(uuid=uuid.uuid5(DEMO_NAMESPACE, code), event="order_paid", distinct_id=who,
                                 timestamp=issued_at + timedelta(seconds=wait), properties={
                                     "order_id": f"D-{code}", "amount": amount, "coupon_code": code,
                                     "merchant_id": merchants[int(rng.integers(len(merchants)))]}))
    ordered = rng.random(len(holdout)) < holdout_rate
    for who, used in zip(holdout, ordered, strict=True):
        if used:
            wait = float(rng.uniform(0, span - 3600))
            rows.append(EventRow(uuid=uuid.uuid5(DEMO_NAMESPACE, f"{campaign.name}-{who}"), event="order_paid",
                                 distinct_id=who, timestamp=issued_at + timedelta(seconds=wait), properties={
                                     "order_id": f"H-{campaign.pk}-{who}", "amount": round(float(rng.gamma(6, 9)), 2),
                                     "merchant_id": merchants[int(rng.integers(len(merchants)))]}))
    unused = [code for (code, who), used in zip(coupons, redeem, strict=True) if not used and who != coupons[0][1]]
    if len(coupons) > 3 and unused:  # one code its owner never used passed on to someone else: flagged
        code = unused[-1]
        rows.append(EventRow(uuid=uuid.uuid5(DEMO_NAMESPACE, f"shared-{code}"), event="order_paid",
                             distinct_id=coupons[0][1], timestamp=end_at - timedelta(hours=5), properties={
                                 "order_id": f"S-{code}", "amount": 66.0, "coupon_code": code,
                                 "merchant_id": merchants[0]}))
    return rows


def demo_user_ops_ensure(*, end: date, seed: int = 42, merchants: list[str] | None = None) -> tuple[int, int]:
    """Customers, spend, segments and coupon campaigns for the demo; returns the coupon orders (events) generated
    and stored (0 and 0 once the campaigns exist)."""
    rng = np.random.default_rng(seed + 505)
    end_at = _local(end + timedelta(days=1))
    customers_refresh(trigger="demo", now=end_at)
    _spend(end, rng)
    for name, description, rules in SEGMENTS:
        if not Segment.objects.filter(name=name).exists():
            segment_save(name=name, description=description, rules=rules)
    segments_rebuild_all(now=end_at)
    merchants = merchants or ["M00001"]
    generated = stored = 0
    for name, kind, segment_name, face, min_spend, holdout, redeem_rate, holdout_rate, days in CAMPAIGNS:
        if CouponCampaign.objects.filter(name=name).exists():
            continue
        segment = Segment.objects.get(name=segment_name)
        issued_at = _local(end - timedelta(days=days), 10)
        campaign = coupon_campaign_create(
            name=name, kind=kind, face_value=Decimal(face), min_spend=Decimal(min_spend), valid_from=issued_at,
            valid_to=issued_at + timedelta(days=30), budget=Decimal(face) * max(int(segment.size or 0), 1),
            per_customer_limit=1, segment=segment, holdout_share=Decimal(holdout))
        coupon_issue_to_segment(campaign_id=campaign.pk, now=issued_at)
        rows = _orders_with_codes(campaign, rng, redeem_rate=redeem_rate, holdout_rate=holdout_rate,
                                  issued_at=issued_at, end_at=end_at, merchants=merchants)
        generated += len(rows)
        stored += events_load(rows).inserted
    customers_refresh(trigger="demo", now=end_at)
    # counts and flows for every day of the demo (the refresh above saw every customer as new: replace its day too)
    lifecycle_history_backfill(date_to=end + timedelta(days=1), replace=True)
    segments_rebuild_all(now=end_at)
    for campaign_id in CouponCampaign.objects.values_list("pk", flat=True):
        coupon_redemptions_refresh(campaign_id=campaign_id, now=end_at)
    return generated, stored
