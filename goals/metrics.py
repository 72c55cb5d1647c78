"""The metric catalogue: what each goal metric means and how it is measured, from the selectors the other pages use.

Each metric is a **sum** over the period (new customers, revenue, merchants signed …: the value on a day is the
total from the period's first day to that day), a **level** at a date (merchants in the core tier, segment size:
the value on a day is the latest measurement on or before it, counting only measurements of periods that have
ended — a tier week once its Sunday is over), or a **rate** (activation rate, repeat rate, coupon ROI: a ratio over
the complete days of the period so far). Levels and rates start from a baseline.

A goal is *measured on* the last day its value covers: for a sum the last complete day, for a level the day of
its latest complete measurement in the period, for a rate the last complete day with a non-empty denominator. The
pace compares the value with the even path at that day (goals.services.progress), never with a later one.

``goal_series`` measures many goals at once: one grouped query per metric family for the whole date range (not a
query per goal or per day), then each goal's days are picked out of the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from analytics import selectors as analytics_selectors
from goals.models import Goal, Metric
from merchants import selectors as merchant_selectors
from merchants.models import Tier
from products import selectors as product_selectors
from users import selectors as user_selectors

SUM = "sum"
LEVEL = "level"
RATE = "rate"
BASELINE_KINDS = frozenset({LEVEL, RATE})

COUNT = "count"
MONEY = "money"
RATIO = "ratio"
PERCENT = "percent"

# A rate from the AARRR rows: numerator / denominator summed over the same days (× 100, in percent)
AARRR_RATES = {Metric.ACTIVATION_RATE: ("activation", "acquisition"), Metric.REPEAT_RATE: ("retention",
                                                                                            "paying_customers")}

# goal id -> {day: number}: for a sum metric the amount added that day, for a level the value measured that day
Points = dict[int, dict[date, float]]


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    label: str
    unit: str
    kind: str
    family: str
    help: str

    @property
    def label_text(self) -> str:
        return str(self.label)


def _aarrr_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """AARRR stages from the stored nightly rows (analytics.selectors.aarrr_daily_list): one query for every
    AARRR goal, then per goal its metric, its channel and its days."""
    rows = list(analytics_selectors.aarrr_daily_list(date_from=date_from, date_to=date_to)
                .values("date", "channel", *analytics_selectors.AARRR_METRICS))
    points: Points = {goal.pk: {} for goal in goals}
    if not rows:
        return points
    frame = pd.DataFrame.from_records(rows)
    for column in analytics_selectors.AARRR_METRICS:
        frame[column] = frame[column].astype("float64")
    # one reshaping for all the goals: per day over every channel, and per (channel, day)
    all_channels = frame.groupby("date")[list(analytics_selectors.AARRR_METRICS)].sum()
    by_channel = {channel: rows.set_index("date") for channel, rows in frame.groupby("channel")}
    daily: dict[tuple[str, str], dict[date, float]] = {}
    for goal in goals:
        source = by_channel.get(goal.channel) if goal.channel else all_channels
        if goal.metric in AARRR_RATES:
            rates = _cumulative_rate(source, *AARRR_RATES[goal.metric], goal=goal)
            last = min(goal.period_end, date_to)
            if rates and last >= goal.period_start:  # a day without rows is complete too: the rate holds through it
                rates.setdefault(last, rates[max(rates)])
            points[goal.pk] = rates
            continue
        key = (goal.metric, goal.channel)
        if key not in daily:
            daily[key] = source[goal.metric].to_dict() if source is not None else {}
        points[goal.pk] = {day: value for day, value in daily[key].items()
                           if goal.period_start <= day <= goal.period_end}
    return points


def _cumulative_rate(source: pd.DataFrame | None, numerator: str, denominator: str, *, goal: Goal
                     ) -> dict[date, float]:
    """100 × Σ numerator / Σ denominator from the period's first day to each day with a stored row (a day with
    nothing in the denominator so far has no value)."""
    if source is None:
        return {}
    rows = source[(source.index >= goal.period_start) & (source.index <= goal.period_end)].sort_index()
    num = rows[numerator].cumsum()
    den = rows[denominator].cumsum()
    return {day: round(100.0 * float(n) / float(d), 4) for day, n, d in zip(rows.index, num, den, strict=True)
            if d > 0}


def _merchant_milestone_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """Merchants signed / gone live per day (merchants.selectors.merchants_reached_daily, one query per milestone).
    A personal goal counts the owner's merchants; company and team goals count every merchant."""
    points: Points = {goal.pk: {} for goal in goals}
    by_milestone: dict[str, list[Goal]] = defaultdict(list)
    for goal in goals:
        by_milestone["signed" if goal.metric == Metric.MERCHANTS_SIGNED else "live"].append(goal)
    for milestone, milestone_goals in by_milestone.items():
        rows = merchant_selectors.merchants_reached_daily(milestone=milestone, date_from=date_from, date_to=date_to)
        for goal in milestone_goals:
            days: dict[date, float] = defaultdict(float)
            for row in rows:
                if goal.level == Goal.Level.PERSONAL and row["owner_id"] != goal.owner_id:
                    continue
                days[row["day"]] += row["count"]
            points[goal.pk] = dict(days)
    return points


def _merchant_core_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """Merchants in the core tier by computed week (merchants.selectors.merchants_in_tier_weekly, one query). Only
    complete weeks count: a week measures the level on its Sunday, once that Sunday is within ``date_to`` (the week
    in progress never moves a goal). A personal goal counts the owner's merchants."""
    rows = [row for row in merchant_selectors.merchants_in_tier_weekly(tier=Tier.CORE, date_from=date_from - WEEK,
                                                                       date_to=date_to)
            if row["period_start"] + timedelta(days=6) <= date_to]
    points: Points = {}
    for goal in goals:
        weeks: dict[date, float] = defaultdict(float)
        for row in rows:
            sunday = row["period_start"] + timedelta(days=6)
            weeks[sunday] += 0  # a week with core merchants of others still measures 0 for this owner
            if goal.level == Goal.Level.PERSONAL and row["merchant__owner_id"] != goal.owner_id:
                continue
            weeks[sunday] += row["count"]
        points[goal.pk] = dict(weeks)
    return points


WEEK = timedelta(days=7)


def _segment_size_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """Segment sizes as stored by each rebuild (users.selectors.segment_sizes_between), the last one before the
    range included. Two queries for every segment goal."""
    rows = user_selectors.segment_sizes_between(segment_ids=sorted({g.segment_id for g in goals if g.segment_id}),
                                                date_from=date_from, date_to=date_to)
    by_segment: dict[int, dict[date, float]] = defaultdict(dict)
    for row in rows:
        by_segment[row["segment_id"]][row["date"]] = float(row["size"])
    return {goal.pk: dict(by_segment.get(goal.segment_id, {})) for goal in goals}


COUPON_ROI_CACHE_SECONDS = 600


def _coupon_roi(campaign_id: int | None, date_from: date, date_to: date) -> float | None:
    """users.selectors.coupon_roi, kept 10 minutes in the cache: it costs a few queries per campaign, and a company
    goal on coupon ROI is on every desk."""
    key = f"goals:coupon_roi:{campaign_id or 'all'}:{date_from.isoformat()}:{date_to.isoformat()}"
    roi = cache.get(key, "missing")
    if roi == "missing":
        roi = user_selectors.coupon_roi(campaign_id=campaign_id, date_from=date_from, date_to=date_to)
        cache.set(key, roi, COUPON_ROI_CACHE_SECONDS)
    return roi


def _coupon_roi_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """Coupon ROI (users.selectors.coupon_roi) as a rate: one campaign, or every campaign valid in the goal's
    period through its last measured day (its period's end, or ``date_to`` if earlier), placed on that day. ROI is
    not kept by day, so the history is what the nightly run stored."""
    points: Points = {}
    for goal in goals:
        last = min(goal.period_end, date_to)
        if last < goal.period_start:
            points[goal.pk] = {}
            continue
        roi = _coupon_roi(goal.coupon_campaign_id, goal.period_start, last)
        points[goal.pk] = {last: roi} if roi is not None else {}
    return points


def _tickets_points(goals: list[Goal], date_from: date, date_to: date) -> Points:
    """Requirement tickets concluded with success per day (products.selectors.tickets_concluded_daily, one query)."""
    days = product_selectors.tickets_concluded_daily(date_from=date_from, date_to=date_to)
    return {goal.pk: {day: float(n) for day, n in days.items()} for goal in goals}


FAMILIES: dict[str, Callable[[list[Goal], date, date], Points]] = {
    "aarrr": _aarrr_points,
    "merchant_milestones": _merchant_milestone_points,
    "merchant_core": _merchant_core_points,
    "segment_size": _segment_size_points,
    "coupon_roi": _coupon_roi_points,
    "tickets": _tickets_points,
}

CATALOGUE: dict[str, MetricSpec] = {spec.metric: spec for spec in [
    MetricSpec(Metric.ACQUISITION, Metric.ACQUISITION.label, COUNT, SUM, "aarrr",
               _("Customers whose first visit falls in the period (optionally from one channel).")),
    MetricSpec(Metric.ACTIVATION, Metric.ACTIVATION.label, COUNT, SUM, "aarrr",
               _("Customers whose first sign-up falls in the period.")),
    MetricSpec(Metric.RETENTION, Metric.RETENTION.label, COUNT, SUM, "aarrr",
               _("Customer-days with a paid order by customers who had ordered before.")),
    MetricSpec(Metric.REVENUE, Metric.REVENUE.label, MONEY, SUM, "aarrr",
               _("The amount of paid orders in the period.")),
    MetricSpec(Metric.PAYING_CUSTOMERS, Metric.PAYING_CUSTOMERS.label, COUNT, SUM, "aarrr",
               _("Paying customers counted per day, added up over the period.")),
    MetricSpec(Metric.REFERRAL, Metric.REFERRAL.label, COUNT, SUM, "aarrr",
               _("Sign-ups that name a referrer.")),
    MetricSpec(Metric.MERCHANTS_SIGNED, Metric.MERCHANTS_SIGNED.label, COUNT, SUM, "merchant_milestones",
               _("Merchants signed in the period (a personal goal counts the owner's merchants).")),
    MetricSpec(Metric.MERCHANTS_LIVE, Metric.MERCHANTS_LIVE.label, COUNT, SUM, "merchant_milestones",
               _("Merchants gone live in the period (a personal goal counts the owner's merchants).")),
    MetricSpec(Metric.MERCHANTS_CORE, Metric.MERCHANTS_CORE.label, COUNT, LEVEL, "merchant_core",
               _("Merchants in the core tier in the latest computed week (a personal goal counts the owner's).")),
    MetricSpec(Metric.COUPON_ROI, Metric.COUPON_ROI.label, RATIO, RATE, "coupon_roi",
               _("(Incremental revenue against the holdout − discount cost) / cost, one campaign or all.")),
    MetricSpec(Metric.SEGMENT_SIZE, Metric.SEGMENT_SIZE.label, COUNT, LEVEL, "segment_size",
               _("Customers in the segment at its latest rebuild.")),
    MetricSpec(Metric.TICKETS_SUCCESS, Metric.TICKETS_SUCCESS.label, COUNT, SUM, "tickets",
               _("Requirement tickets concluded with success in the period.")),
    MetricSpec(Metric.ACTIVATION_RATE, Metric.ACTIVATION_RATE.label, PERCENT, RATE, "aarrr",
               _("Sign-ups per new customer over the complete days of the period so far, in percent.")),
    MetricSpec(Metric.REPEAT_RATE, Metric.REPEAT_RATE.label, PERCENT, RATE, "aarrr",
               _("Repeat buyers per paying customer (daily counts summed) over the complete days of the period so "
                 "far, in percent.")),
]}


def metric_spec(metric: str) -> MetricSpec:
    return CATALOGUE[Metric(metric)]


def goal_measurements(*, goals: list[Goal], date_to: date) -> dict[int, tuple[list[tuple[date, float]], date | None]]:
    """Each goal's ``(series, measured_on)``: its value on every day from its period's start to ``date_to`` (or
    its period's end, if earlier), and the last day its value covers (None when nothing in the period is measured
    yet: a level or a rate then shows its baseline, and its pace is not judged).

    Sums add up from the period's first day; levels and rates carry the latest measurement forward (the baseline
    until the first one). One grouped query per metric family for all the goals.
    """
    by_family: dict[str, list[Goal]] = defaultdict(list)
    for goal in goals:
        by_family[metric_spec(goal.metric).family].append(goal)
    result: dict[int, tuple[list[tuple[date, float]], date | None]] = {}
    for family, family_goals in by_family.items():
        date_from = min(goal.period_start for goal in family_goals)
        last = min(max(goal.period_end for goal in family_goals), date_to)
        points = FAMILIES[family](family_goals, date_from, max(last, date_from)) if last >= date_from else {}
        for goal in family_goals:
            result[goal.pk] = _goal_days(goal, points.get(goal.pk, {}), date_to)
    return result


def goal_series(*, goals: list[Goal], date_to: date) -> dict[int, list[tuple[date, float]]]:
    """Each goal's value on every day from its period's start to ``date_to`` (``goal_measurements`` without the
    measured day)."""
    return {pk: series for pk, (series, _) in goal_measurements(goals=goals, date_to=date_to).items()}


def _goal_days(goal: Goal, points: dict[date, float], date_to: date) -> tuple[list[tuple[date, float]], date | None]:
    end = min(goal.period_end, date_to)
    days = (end - goal.period_start).days + 1
    if days <= 0:
        return [], None
    result = []
    if metric_spec(goal.metric).kind == SUM:
        total = 0.0
        for offset in range(days):
            day = goal.period_start + timedelta(days=offset)
            total += float(points.get(day, 0) or 0)
            result.append((day, total))
        return result, end
    before = [day for day in points if day < goal.period_start and points[day] is not None]
    level = float(points[max(before)]) if before else float(goal.baseline or 0)
    measured_on = None
    for offset in range(days):
        day = goal.period_start + timedelta(days=offset)
        if day in points and points[day] is not None:
            level = float(points[day])
            measured_on = day
        result.append((day, level))
    return result, measured_on


def goal_values(*, goals: list[Goal], on: date) -> dict[int, float]:
    """Each goal's value as of ``on`` (the last day of ``goal_series``; the baseline or 0 before the period)."""
    series = goal_series(goals=goals, date_to=on)
    return {goal.pk: (series[goal.pk][-1][1] if series.get(goal.pk) else
                      float(goal.baseline or 0) if metric_spec(goal.metric).kind in BASELINE_KINDS else 0.0)
            for goal in goals}
