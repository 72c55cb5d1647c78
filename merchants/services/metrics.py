"""The nightly merchant metrics: per merchant and week, from the events (set-based), health score and tier.

One week is computed from two grouped queries over the events (through analytics' selectors), reshaped with
vectorised pandas, and replaced in one transaction: running it twice gives the same rows. Only complete weeks
(ops_platform.core.periods) are judged; tier moves need the buffer band and ``confirm_weeks`` complete weeks in a row
(hysteresis), and are recorded with a reason code and the rules version, only for the newest complete week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors as analytics
from merchants import tier_reasons
from merchants.models import Merchant, MerchantMetrics, MerchantMetricsRun, MerchantTierChange, Tier, TierRules
from merchants.selectors import TIER_RANK, tier_rules_current
from merchants.services.pipeline import merchant_move_stage
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import WEEK as WEEK_PERIOD
from ops_platform.core.periods import (
    last_complete_period,
    local_day_start,
    local_today,
    period_add,
    period_days_elapsed,
    period_end,
)
from ops_platform.core.periods import period_start as period_start_of
from ops_platform.core.roles import Action, Area, can

WEEK = timedelta(days=7)


def week_start(day: date) -> date:
    return period_start_of(day, WEEK_PERIOD)


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


def tiers_for(frame: pd.DataFrame, *, rules: TierRules, current: pd.Series | None = None) -> pd.Series:
    """The tier a week's figures point to. With ``current`` (per row, the tier in force before the week) every
    threshold carries the buffer band: a merchant at or above a threshold's tier keeps it down to the threshold minus
    ``buffer_points`` (weekly orders: minus ``buffer_orders`` percent), one below needs the threshold plus the band.
    A row without a tier in force (or without ``current``) is judged on the plain thresholds. Vectorised."""
    score = frame["health_score"].astype(float).to_numpy()
    orders = frame["weekly_orders"].astype(float).to_numpy()
    if current is None:
        rank = np.full(len(frame), -1.0)
    else:
        rank = current.map(TIER_RANK).astype(float).fillna(-1.0).to_numpy()
    points, share = float(rules.buffer_points), rules.buffer_orders / 100

    def side(level: int) -> np.ndarray:  # −1: at or above the level (to keep it), +1: below (to reach it), 0: no tier
        return np.where(rank < 0, 0.0, np.where(rank >= level, -1.0, 1.0))

    core, potential, ordinary = side(3), side(2), side(1)
    return pd.Series(np.select(
        [(score >= rules.core_min_score + core * points) & (orders >= rules.core_min_orders * (1 + core * share)),
         (score >= rules.potential_min_score + potential * points)
         & (orders >= rules.potential_min_orders * (1 + potential * share)),
         score < rules.at_risk_max_score + ordinary * points],
        [Tier.CORE, Tier.POTENTIAL, Tier.AT_RISK], default=Tier.ORDINARY), index=frame.index)


def tiers_confirmed(*, current: pd.Series, indicated: pd.Series, history: list[pd.Series]) -> pd.Series:
    """The tier in force after a complete week. A merchant without a tier takes the indicated one at once; one with a
    tier moves only when this week's indication and each of ``history`` (the indications of the complete weeks just
    before, aligned, blank where missing) point the same way from it — then to the nearest of them (a fall from
    core through two weeks "ordinary" then "at risk" stops at ordinary). Vectorised."""
    def ranks(series: pd.Series) -> np.ndarray:
        return series.map(TIER_RANK).astype(float).to_numpy()  # NaN for blank

    now, weeks = ranks(current), [ranks(indicated), *(ranks(h) for h in history)]
    stack = np.vstack(weeks)
    with np.errstate(invalid="ignore"):
        up = np.all(stack > now, axis=0)
        down = np.all(stack < now, axis=0)
    target = np.where(up, np.nanmin(stack, axis=0), np.where(down, np.nanmax(stack, axis=0), now))
    target = np.where(np.isnan(now), weeks[0], target)
    tiers = {float(rank): tier for tier, rank in TIER_RANK.items()}
    return pd.Series([tiers.get(t, "") if not np.isnan(t) else "" for t in target], index=current.index, dtype=object)


def _history(period_start: date, merchant_ids: pd.Series, weeks: int) -> list[pd.Series]:
    """The indicated tiers of the ``weeks`` complete weeks before ``period_start``, aligned on ``merchant_ids``."""
    if weeks <= 0:
        return []
    starts = [period_add(period_start, WEEK_PERIOD, -k) for k in range(1, weeks + 1)]
    rows = pd.DataFrame.from_records(
        list(MerchantMetrics.objects.filter(period_start__in=starts, days__gte=7)
             .values_list("merchant_id", "period_start", "indicated_tier")),
        columns=["merchant_id", "period_start", "indicated_tier"])
    history = []
    for start in starts:
        week = rows[rows["period_start"] == start]
        history.append(merchant_ids.map(dict(zip(week["merchant_id"], week["indicated_tier"], strict=True)))
                       .astype(object).fillna(""))
    return history


def _tier_before(frame: pd.DataFrame, *, period_start: date, newest: bool) -> pd.Series:
    """The tier in force before the complete week: for the newest week the merchant's own (or, when the week is
    being recomputed, the one its recorded nightly change started from); for an older week the week before's."""
    if newest:
        before = dict(MerchantTierChange.objects.filter(period_start=period_start, changed_by=None)
                      .values_list("merchant_id", "from_tier"))
        return pd.Series([before.get(int(m), t) or "" for m, t in zip(frame["merchant_id"], frame["current_tier"],
                                                                       strict=True)], index=frame.index, dtype=object)
    previous = dict(MerchantMetrics.objects.filter(period_start=period_start - WEEK, days__gte=7)
                    .values_list("merchant_id", "tier"))
    return frame["merchant_id"].map(previous).astype(object).fillna("")


def merchant_metrics_compute(*, period_start: date, rules: TierRules | None = None,
                             through: date | None = None) -> MerchantMetricsRun:
    """Compute (or recompute) the week starting on ``period_start`` (a Monday) for every merchant with events
    and every live merchant.

    The week is counted up to ``through`` (default: yesterday). A **complete** week (``through`` reaches its Sunday)
    is judged: health score, the tier its figures indicate (with the buffer band around the tier in force), and —
    when it is the newest complete week — the tiers, which move only after ``rules.confirm_weeks`` consecutive
    complete weeks point the same way. A week **in progress** is the "week so far": its volumes are scaled to 7 days
    and week over week compares the same days of the week before, for display; it keeps every tier as it is and
    does not touch the merchants' health scores.
    """
    if period_start.weekday() != 0:
        raise ApplicationError(_("A week starts on a Monday."), errors={"period_start": [_("Give a Monday.")]})
    through = through or local_today() - timedelta(days=1)
    days = int(min(max((through - period_start).days + 1, 1), 7))
    complete = days == 7
    rules = rules or tier_rules_current()
    now = timezone.now()
    MerchantMetricsRun.objects.update_or_create(period_start=period_start, defaults={
        "status": MerchantMetricsRun.Status.STARTED, "started_at": now, "finished_at": None, "days": days})

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
    live = frame["stage"] == Merchant.Stage.LIVE
    newest = complete and not MerchantMetrics.objects.filter(period_start__gt=period_start, days__gte=7).exists()
    if complete:
        frame["tier_before"] = _tier_before(frame, period_start=period_start, newest=newest)
        frame["indicated_tier"] = tiers_for(frame, rules=rules, current=frame["tier_before"])
        frame["tier"] = tiers_confirmed(current=frame["tier_before"], indicated=frame["indicated_tier"],
                                        history=_history(period_start, frame["merchant_id"], rules.confirm_weeks - 1))
    else:  # the week so far judges nothing: the tier in force stays
        frame["indicated_tier"] = ""
        frame["tier"] = frame["current_tier"].fillna("")
    frame.loc[~live, ["tier", "indicated_tier"]] = ""

    rows = [MerchantMetrics(
        merchant_id=int(r.merchant_id), period_start=period_start, days=days, orders=int(r.orders),
        gmv=round(float(r.gmv), 2),
        customers=int(r.customers), repeat_rate=float(r.repeat_rate),
        avg_rating=None if np.isnan(r.avg_rating) else round(float(r.avg_rating), 3), review_count=int(r.review_count),
        low_rating_share=float(r.low_rating_share),
        orders_wow=None if np.isnan(r.orders_wow) else float(r.orders_wow), health_score=int(r.health_score),
        tier=r.tier, indicated_tier=r.indicated_tier, computed_at=now) for r in frame.itertuples(index=False)]
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


def merchant_metrics_nightly_run(*, today: date | None = None) -> list[MerchantMetricsRun]:
    """What the nightly task runs: the last complete week, unless it was already computed complete (on Monday night
    it is the week that just ended, judged once, tiers included), then the week so far (no tier moves)."""
    today = today or local_today()
    last = last_complete_period(WEEK_PERIOD, today=today)
    runs = []
    if not MerchantMetricsRun.objects.filter(period_start=last, status=MerchantMetricsRun.Status.DONE,
                                             days__gte=7).exists():
        runs.append(merchant_metrics_compute(period_start=last, through=period_end(last, WEEK_PERIOD)))
    if period_days_elapsed(today, WEEK_PERIOD, today=today) > 0:
        runs.append(merchant_metrics_compute(period_start=period_start_of(today, WEEK_PERIOD),
                                             through=today - timedelta(days=1)))
    return runs


def _tiers_apply(frame: pd.DataFrame, *, period_start: date, rules: TierRules, now) -> int:
    """Record the week's moves (tier before → tier after, a recomputed week keeps the moves it already recorded) and
    update the live merchants' tiers and health scores. Returns the moves recorded now."""
    live = frame[frame["stage"] == Merchant.Stage.LIVE]
    moved = live[live["tier"] != live["tier_before"]]
    recorded = MerchantTierChange.objects.filter(period_start=period_start, changed_by=None)
    keep = {(int(r.merchant_id), r.tier_before, r.tier) for r in moved.itertuples(index=False)}
    existing = {(m, f, t): pk for pk, m, f, t in recorded.values_list("pk", "merchant_id", "from_tier", "to_tier")}
    recorded.exclude(pk__in=[pk for key, pk in existing.items() if key in keep]).delete()
    new = moved[[(int(r.merchant_id), r.tier_before, r.tier) not in existing for r in moved.itertuples(index=False)]]
    MerchantTierChange.objects.bulk_create([
        MerchantTierChange(
            merchant_id=int(r.merchant_id), from_tier=r.tier_before or "", to_tier=r.tier, period_start=period_start,
            reason_code=tier_reasons.MOVED if r.tier_before else tier_reasons.FIRST,
            reason_params=tier_reasons.tier_reason_params(score=r.health_score, orders=r.orders, week=period_start,
                                                          weeks=rules.confirm_weeks, version=rules.version),
            rules=rules, changed_at=now)
        for r in new.itertuples(index=False)], batch_size=2000)
    updates = [Merchant(pk=int(r.merchant_id), tier=r.tier, health_score=int(r.health_score), tier_since=period_start)
               for r in live.itertuples(index=False) if r.tier != r.current_tier]
    Merchant.objects.bulk_update(updates, ["tier", "health_score", "tier_since"], batch_size=1000)
    _scores_update(live[live["tier"] == live["current_tier"]])
    return len(new)


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
