"""The nightly merchant metrics: per merchant and week, from the events (set-based), health score and tier.

One week is computed from two grouped queries over the events (through analytics' selectors), reshaped with
vectorised pandas, and replaced in one transaction: running it twice gives the same rows. Tier changes are
recorded with their reason and the rules version, only when the week is the newest computed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors as analytics
from merchants.models import Merchant, MerchantMetrics, MerchantMetricsRun, MerchantTierChange, Tier, TierRules
from merchants.selectors import tier_rules_current
from merchants.services.pipeline import merchant_move_stage
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import local_day_start
from ops_platform.core.roles import Action, Area, can

WEEK = timedelta(days=7)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _local(day: date) -> datetime:
    return local_day_start(day)


def week_frame(*, period_start: date, days: int = 7) -> pd.DataFrame:
    """The week's raw aggregates per merchant code (orders, GMV, customers, repeat, reviews, ratings) over its
    first ``days`` days."""
    start, end = _local(period_start), _local(period_start + timedelta(days=days))
    orders = analytics.merchant_order_aggregates(start=start, end=end)
    reviews = analytics.merchant_review_aggregates(start=start, end=end)
    frame = orders.merge(reviews, on="merchant", how="outer")
    return frame.fillna({"orders": 0, "gmv": 0.0, "customers": 0, "repeat_customers": 0, "review_count": 0,
                         "rating_sum": 0.0, "low_ratings": 0})


def health_scores(frame: pd.DataFrame, *, rules: TierRules) -> pd.Series:
    """0–100 from volume (30), rating (25), low-rating share (10), repeat customers (20), trend (15). Vectorised."""
    volume = np.minimum(frame["weekly_orders"] / max(rules.core_min_orders, 1), 1.0) * 30
    rating = ((frame["avg_rating"] - 1) / 4).clip(0, 1).fillna(0.5) * 25
    low = (1 - frame["low_rating_share"]) * 10
    repeat = np.minimum(frame["repeat_rate"] / 0.3, 1.0) * 20
    trend = (frame["orders_wow"].clip(-0.5, 0.5) + 0.5).fillna(0.5) * 15
    return (volume + rating + low + repeat + trend).round().clip(0, 100).astype(int)


def tiers_for(frame: pd.DataFrame, *, rules: TierRules) -> pd.Series:
    score, orders = frame["health_score"], frame["weekly_orders"]
    return pd.Series(np.select(
        [(score >= rules.core_min_score) & (orders >= rules.core_min_orders),
         (score >= rules.potential_min_score) & (orders >= rules.potential_min_orders),
         score < rules.at_risk_max_score],
        [Tier.CORE, Tier.POTENTIAL, Tier.AT_RISK], default=Tier.ORDINARY), index=frame.index)


def tier_reason(row, rules: TierRules) -> str:
    if row.days < 7:
        return _("health %(score)d, %(orders)d orders in %(days)d days (rules v%(version)d)") % {
            "score": row.health_score, "orders": row.orders, "days": row.days, "version": rules.version}
    return _("health %(score)d, %(orders)d orders in the week (rules v%(version)d)") % {
        "score": row.health_score, "orders": row.orders, "version": rules.version}


def merchant_metrics_compute(*, period_start: date, rules: TierRules | None = None,
                             through: date | None = None) -> MerchantMetricsRun:
    """Compute (or recompute) the week starting on ``period_start`` (a Monday) for every merchant with events
    and every live merchant; update tiers when it is the newest week computed.

    A week still running is counted up to ``through`` (default: yesterday): volumes are judged per week
    (scaled to 7 days) and week over week compares the same number of days of the week before.
    """
    if period_start.weekday() != 0:
        raise ApplicationError(_("A week starts on a Monday."), errors={"period_start": [_("Give a Monday.")]})
    through = through or timezone.localdate() - timedelta(days=1)
    days = int(min(max((through - period_start).days + 1, 1), 7))
    rules = rules or tier_rules_current()
    now = timezone.now()
    MerchantMetricsRun.objects.update_or_create(period_start=period_start, defaults={
        "status": MerchantMetricsRun.Status.STARTED, "started_at": now, "finished_at": None})

    frame = week_frame(period_start=period_start, days=days)
    merchants = pd.DataFrame.from_records(
        list(Merchant.objects.values_list("id", "code", "stage", "tier")),
        columns=["merchant_id", "merchant", "stage", "current_tier"])
    merchants = merchants.astype({"merchant": str})
    frame = merchants.merge(frame, on="merchant", how="left")
    frame = frame[(frame["stage"] == Merchant.Stage.LIVE) | frame["orders"].notna() | frame["review_count"].notna()]
    frame = frame.fillna({"orders": 0, "gmv": 0.0, "customers": 0, "repeat_customers": 0, "review_count": 0,
                          "rating_sum": 0.0, "low_ratings": 0}).reset_index(drop=True)
    prev_orders = analytics.merchant_order_aggregates(start=_local(period_start - WEEK),
                                                      end=_local(period_start - WEEK + timedelta(days=days)))
    prev = frame["merchant"].map(dict(zip(prev_orders["merchant"], prev_orders["orders"], strict=True)))
    frame["days"] = days
    frame["weekly_orders"] = frame["orders"] * 7 / days
    frame["repeat_rate"] = np.where(frame["customers"] > 0, frame["repeat_customers"] / frame["customers"].clip(1), 0)
    frame["avg_rating"] = np.where(frame["review_count"] > 0, frame["rating_sum"] / frame["review_count"].clip(1),
                                   np.nan)
    frame["low_rating_share"] = np.where(frame["review_count"] > 0,
                                         frame["low_ratings"] / frame["review_count"].clip(1), 0)
    frame["orders_wow"] = np.where(prev > 0, frame["orders"] / prev.where(prev > 0, 1) - 1, np.nan)
    frame["health_score"] = health_scores(frame, rules=rules)
    frame["tier"] = tiers_for(frame, rules=rules)
    frame.loc[frame["stage"] != Merchant.Stage.LIVE, "tier"] = ""

    rows = [MerchantMetrics(
        merchant_id=int(r.merchant_id), period_start=period_start, days=days, orders=int(r.orders),
        gmv=round(float(r.gmv), 2),
        customers=int(r.customers), repeat_rate=float(r.repeat_rate),
        avg_rating=None if np.isnan(r.avg_rating) else round(float(r.avg_rating), 3), review_count=int(r.review_count),
        low_rating_share=float(r.low_rating_share),
        orders_wow=None if np.isnan(r.orders_wow) else float(r.orders_wow), health_score=int(r.health_score),
        tier=r.tier, computed_at=now) for r in frame.itertuples(index=False)]
    newest = MerchantMetrics.objects.filter(period_start__gt=period_start).exists() is False
    changes = 0
    with transaction.atomic():
        MerchantMetrics.objects.filter(period_start=period_start).delete()
        MerchantMetrics.objects.bulk_create(rows, batch_size=2000)
        if newest:
            changes = _tiers_apply(frame, period_start=period_start, rules=rules, now=now)
        MerchantMetricsRun.objects.filter(period_start=period_start).update(
            status=MerchantMetricsRun.Status.DONE, merchants=len(rows), tier_changes=changes,
            finished_at=timezone.now())
    return MerchantMetricsRun.objects.get(period_start=period_start)


def _tiers_apply(frame: pd.DataFrame, *, period_start: date, rules: TierRules, now) -> int:
    live = frame[frame["stage"] == Merchant.Stage.LIVE]
    moved = live[live["tier"] != live["current_tier"]]
    MerchantTierChange.objects.bulk_create([
        MerchantTierChange(merchant_id=int(r.merchant_id), from_tier=r.current_tier or "", to_tier=r.tier,
                           period_start=period_start, reason=tier_reason(r, rules), rules=rules, changed_at=now)
        for r in moved.itertuples(index=False)], batch_size=2000)
    updates = [Merchant(pk=int(r.merchant_id), tier=r.tier, health_score=int(r.health_score),
                        tier_since=period_start if r.tier != r.current_tier else None)
               for r in live.itertuples(index=False)]
    Merchant.objects.bulk_update([m for m in updates if m.tier_since is not None], ["tier", "health_score",
                                                                                    "tier_since"], batch_size=1000)
    _scores_update(live[live["tier"] == live["current_tier"]])
    return len(moved)


def _scores_update(frame: pd.DataFrame) -> None:
    """Health scores of merchants whose tier did not change: one UPDATE per distinct score (at most 101)."""
    for score, ids in frame.groupby("health_score")["merchant_id"]:
        Merchant.objects.filter(pk__in=[int(i) for i in ids]).update(health_score=int(score))


@transaction.atomic
def merchant_tier_set(*, user, merchant_ids: list[int], tier: str, reason: str) -> int:
    """A bulk action on the lists (promote candidates, rotate out): set the tier by hand, recorded with the reason."""
    if not can(user, Area.MERCHANT_ASSIGN, Action.CHANGE):
        raise ApplicationError(_("Only an administrator may change tiers by hand."), status_code=403,
                               code="permission_denied")
    if tier not in Tier.values:
        raise ApplicationError(_("Unknown tier."), errors={"tier": [_("Choose a tier.")]})
    if not (reason or "").strip():
        raise ApplicationError(_("Give a reason."), errors={"reason": [_("Required.")]})
    merchants = list(Merchant.objects.select_for_update().filter(pk__in=merchant_ids).exclude(tier=tier))
    now = timezone.now()
    MerchantTierChange.objects.bulk_create([
        MerchantTierChange(merchant=m, from_tier=m.tier, to_tier=tier, period_start=timezone.localdate(),
                           reason=reason.strip()[:300], changed_by=user, changed_at=now) for m in merchants])
    Merchant.objects.filter(pk__in=[m.pk for m in merchants]).update(tier=tier, tier_since=timezone.localdate())
    return len(merchants)


@transaction.atomic
def merchant_rotate_out(*, user, merchant_ids: list[int], reason_id: int, note: str) -> int:
    """Bulk action on the rotate-out list: terminate the merchants (each move recorded with the reason; a merchant
    the user may not change, or one already terminated, refuses the whole action)."""
    moved = 0
    for merchant_id in merchant_ids:
        merchant_move_stage(user=user, merchant_id=merchant_id, to_stage=Merchant.Stage.TERMINATED, reason=reason_id,
                            note=note)
        moved += 1
    return moved
