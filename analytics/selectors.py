"""Read functions of the analytics app: the only way domain apps and the site reach analytics data."""

from __future__ import annotations

from array import array
from datetime import date, datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import Case, Count, F, FloatField, Max, Min, Q, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from analytics.models import (
    AarrrDaily,
    Event,
    EventCountHourly,
    ExportJob,
    IngestKey,
    MetricsRun,
    PersonMerge,
    Tally,
)
from analytics.services import customer_activity as _customer_activity
from analytics.services import funnel as _funnel
from analytics.services import golden_time as _golden_time
from analytics.services import identity as _identity
from analytics.services import merchant_metrics as _merchant_metrics
from analytics.services import retention as _retention
from analytics.services import stickiness as _stickiness
from analytics.services import tracking_checks as _tracking_checks
from analytics.services import trends as _trends
from analytics.services.exports import ABANDONED_EXPORT_ERROR, STUCK_IN_QUEUE_ERROR
from analytics.services.filters import unknown_names as _unknown_names
from analytics.services.keys import ingest_key_hash
from analytics.services.naming import CANONICAL_EVENTS
from ops_platform.core.periods import (
    DAY,
    WEEK,
    local_day_start,
    local_today,
    period_end,
    period_is_complete,
    period_start,
)
from ops_platform.core.roles import Role, roles_of
from ops_platform.core.secrets import secret_plausible


def event_count() -> int:
    """Events stored (the running hourly counts kept by every write: no count over the events table)."""
    return EventCountHourly.objects.aggregate(total=Sum("events"))["total"] or 0


def person_count() -> int:
    """Distinct customers (distinct ids) seen in ingested batches (a running total kept by every write; a batch that
    fails after creating its people leaves them, and a retry does not count them again)."""
    tally = Tally.objects.filter(key="persons").values_list("value", flat=True).first()
    return tally or 0


def metrics_run_latest() -> MetricsRun | None:
    return MetricsRun.objects.order_by("-started_at", "-id").first()


def metrics_run_list(*, limit: int = 20) -> list[MetricsRun]:
    return list(MetricsRun.objects.order_by("-started_at", "-id")[:limit])


def event_daily_counts(*, days: int = 30) -> list[dict]:
    """Events stored per local day for the last ``days`` days (oldest first), zero-filled; from the hourly counts."""
    today = local_today()
    first_day = today - timedelta(days=days - 1)
    start = local_day_start(first_day)
    rows = (
        EventCountHourly.objects.filter(hour__gte=start)
        .annotate(day=TruncDate("hour", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(count=Sum("events"))
    )
    counts = {row["day"]: row["count"] for row in rows}
    return [{"date": first_day + timedelta(days=i), "count": counts.get(first_day + timedelta(days=i), 0)}
            for i in range(days)]


def aarrr_totals(*, date_from: date, date_to: date, channel: str | None = None) -> dict:
    """Sum of the stored AARRR rows over a date range, all channels or one."""
    rows = AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to)
    if channel:
        rows = rows.filter(channel=channel)
    totals = rows.aggregate(
        acquisition=Sum("acquisition"), activation=Sum("activation"), retention=Sum("retention"),
        revenue=Sum("revenue"), paying_customers=Sum("paying_customers"), referral=Sum("referral"),
    )
    return {key: value or 0 for key, value in totals.items()}


def event_date_span() -> tuple[date, date] | None:
    """The local dates of the first and the last stored event, or None when there are none."""
    span = Event.objects.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    if span["first"] is None:
        return None
    return timezone.localdate(span["first"]), timezone.localdate(span["last"])


def aarrr_daily_list(*, date_from: date, date_to: date, channel: str | None = None):
    """The stored AARRR rows of a date range (one optional channel), by date then channel. One query."""
    rows = AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to)
    if channel:
        rows = rows.filter(channel=channel)
    return rows.order_by("date", "channel")


def metrics_runs_failed_since(*, since: datetime) -> list[MetricsRun]:
    """Runs that failed (or were found abandoned) since ``since``, oldest first (the desk's prompt alerts)."""
    return list(MetricsRun.objects.filter(status=MetricsRun.Status.FAILED, finished_at__gte=since)
                .order_by("finished_at", "id"))


def export_jobs_abandoned_since(*, since: datetime) -> list[ExportJob]:
    """Export jobs the watchdog found with a dead worker (or lost in the queue) since ``since``."""
    return list(ExportJob.objects.filter(status=ExportJob.Status.FAILED, finished_at__gte=since,
                                         error__in=[ABANDONED_EXPORT_ERROR, STUCK_IN_QUEUE_ERROR])
                .order_by("finished_at"))


def export_job_list(*, user, limit: int = 50):
    """The export jobs a staff member may see: their own; administrators see everyone's."""
    jobs = ExportJob.objects.select_related("created_by").order_by("-created_at")
    if Role.ADMIN not in roles_of(user):
        jobs = jobs.filter(created_by=user)
    return jobs[:limit]


def export_job_get(*, user, job_id) -> ExportJob | None:
    jobs = ExportJob.objects.select_related("created_by")
    if Role.ADMIN not in roles_of(user):
        jobs = jobs.filter(created_by=user)
    return jobs.filter(pk=job_id).first()


AARRR_METRICS = ("acquisition", "activation", "retention", "revenue", "paying_customers", "referral")
AARRR_STAGES = ("acquisition", "activation", "retention", "revenue", "referral")


def aarrr_channels() -> list[str]:
    """The channels that have stored AARRR rows, alphabetically."""
    return list(AarrrDaily.objects.order_by("channel").values_list("channel", flat=True).distinct())


def aarrr_daily_series(*, date_from: date, date_to: date, channel: str | None = None,
                       stored: set | None = None) -> list[dict]:
    """Per day (every day of the range, zero-filled): the sum of each AARRR metric over the channels. ``stored``, a
    set, receives the days that have stored rows (a day without is zero-filled: a quiet day, or one not computed)."""
    rows = aarrr_daily_list(date_from=date_from, date_to=date_to, channel=channel).order_by()
    totals = {row["date"]: row for row in rows.values("date").annotate(**{m: Sum(m) for m in AARRR_METRICS})}
    if stored is not None:
        stored.update(totals)
    days = (date_to - date_from).days + 1
    series = []
    for offset in range(days):
        day = date_from + timedelta(days=offset)
        row = totals.get(day, {})
        series.append({"date": day, **{m: row.get(m) or 0 for m in AARRR_METRICS}})
    return series


AARRR_CHART_WEEKLY_AFTER_DAYS = 92  # a longer range is charted per week (Monday first), a shorter one per day


def aarrr_chart_series(*, date_from: date, date_to: date, channel: str | None = None,
                       today: date | None = None, comparison: dict | None = None) -> dict:
    """The AARRR page's chart: per day, or per week when the range is longer than 92 days, the sums over the channels
    (or one channel). Each point has a ``state``: ``complete``; ``so_far`` (the period holds today: its figures are
    not final); ``cut`` (a week the range covers only in part); ``future`` (not started: its values are None, never a
    0 that reads as a fall); ``not_measured`` (a day the nightly run has not computed yet — today before a recompute,
    yesterday before the night's run: None too, not a 0). ``comparison``: the range's ``aarrr_comparison_window``
    when the caller has it (its last measured day), saving a query."""
    today = today or local_today()
    interval = WEEK if (date_to - date_from).days + 1 > AARRR_CHART_WEEKLY_AFTER_DAYS else DAY
    if comparison is None and interval == DAY:
        comparison = aarrr_comparison_window(date_from=date_from, date_to=date_to, today=today)
    measured = comparison["date_to"] if interval == DAY else None
    stored: set = set()
    points: dict[date, dict] = {}
    for row in aarrr_daily_series(date_from=date_from, date_to=date_to, channel=channel, stored=stored):
        start = period_start(row["date"], interval)
        point = points.setdefault(start, {"date": start, **dict.fromkeys(AARRR_METRICS, 0)})
        for metric in AARRR_METRICS:
            point[metric] += row[metric]
    for start, point in points.items():
        if start > today:
            point.update(dict.fromkeys(AARRR_METRICS), state="future")
        elif interval == DAY and start not in stored and (measured is None or start > measured):
            point.update(dict.fromkeys(AARRR_METRICS), state="not_measured")
        elif not period_is_complete(start, interval, today=today):
            point["state"] = "so_far"
        elif start < date_from or period_end(start, interval) > date_to:
            point["state"] = "cut"
        else:
            point["state"] = "complete"
    return {"interval": interval, "points": list(points.values())}


def aarrr_channel_summary(*, date_from: date, date_to: date) -> list[dict]:
    """Per first-touch channel over the range: the sums and the ratios that judge a channel's quality.

    activation_rate = activation / acquisition; repeat_rate = retention / paying_customers (share of paying
    customer-days by customers who had ordered before); revenue_per_new_customer = revenue / acquisition.
    Largest acquisition first. One query.
    """
    rows = (AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to).values("channel")
            .annotate(**{m: Sum(m) for m in AARRR_METRICS}).order_by("-acquisition", "channel"))
    summary = []
    for row in rows:
        revenue = float(row["revenue"] or 0)
        summary.append({
            **row, "revenue": revenue,
            "activation_rate": row["activation"] / row["acquisition"] if row["acquisition"] else None,
            "repeat_rate": row["retention"] / row["paying_customers"] if row["paying_customers"] else None,
            "revenue_per_new_customer": revenue / row["acquisition"] if row["acquisition"] else None,
        })
    return summary


def aarrr_measured_through(*, today: date | None = None) -> date | None:
    """The last day whose AARRR figures are final: yesterday (today is in progress; the nightly run computes a day
    once it has ended), or the last day a finished run computed when that is earlier (after midnight, before the
    night's run has stored yesterday). None when runs are recorded but none has finished (nothing is final yet);
    without any recorded run (rows loaded otherwise), yesterday. One query."""
    yesterday = (today or local_today()) - timedelta(days=1)
    runs = MetricsRun.objects.aggregate(any=Count("pk"), last=Max("date_to", filter=Q(status=MetricsRun.Status.DONE)))
    if not runs["any"]:
        return yesterday
    return min(yesterday, runs["last"]) if runs["last"] else None


def aarrr_comparison_window(*, date_from: date, date_to: date, today: date | None = None) -> dict:
    """Which days of the range the AARRR stages sum, and which days they are compared with.

    The measured days are the range's days up to ``aarrr_measured_through`` (``days`` of ``range_days``; 0 for a
    range that starts today or later); they are compared with the **same number of days** of the previous range of
    the same length (``previous_from`` = ``date_from`` − ``range_days``), so a week in progress on Thursday compares
    Monday–Wednesday with Monday–Wednesday of the week before, never three days with seven. ``complete``: every day
    of the range is measured."""
    range_days = (date_to - date_from).days + 1
    measured = aarrr_measured_through(today=today)
    through = min(date_to, measured) if measured else date_from - timedelta(days=1)
    days = max(0, (through - date_from).days + 1)
    previous_from = date_from - timedelta(days=range_days)
    return {"date_from": date_from, "date_to": through if days else None, "days": days, "range_days": range_days,
            "complete": days == range_days, "previous_from": previous_from if days else None,
            "previous_to": previous_from + timedelta(days=days - 1) if days else None}


def aarrr_period_comparison(*, date_from: date, date_to: date, channel: str | None = None,
                            window: dict | None = None) -> list[dict]:
    """The five stages over the range's measured days beside the same days of the previous range
    (``aarrr_comparison_window``), with the relative change; ``value`` is None when no day is measured yet."""
    window = window or aarrr_comparison_window(date_from=date_from, date_to=date_to)
    if not window["days"]:
        return [{"key": key, "value": None, "previous": None, "change": None} for key in AARRR_STAGES]
    current = aarrr_totals(date_from=date_from, date_to=window["date_to"], channel=channel)
    previous = aarrr_totals(date_from=window["previous_from"], date_to=window["previous_to"], channel=channel)
    stages = []
    for key in AARRR_STAGES:
        now, before = float(current[key]), float(previous[key])
        stages.append({"key": key, "value": current[key], "previous": previous[key],
                       "change": (now - before) / before if before else None})
    return stages


def aarrr_overview(*, date_from: date, date_to: date, channel: str | None = None) -> dict:
    """What the AARRR page shows, as one answer: the five stages over the range's measured days against the same days
    of the previous range (``comparison``: which days), the daily series (all channels or one; a day not measured
    yet — today, days to come, a night not run yet — has null figures, never a 0 that reads as a fall), and every
    channel's sums and ratios over the range. Six queries."""
    window = aarrr_comparison_window(date_from=date_from, date_to=date_to)
    series = aarrr_daily_series(date_from=date_from, date_to=date_to, channel=channel)
    for row in series:
        if window["date_to"] is None or row["date"] > window["date_to"]:
            row.update(dict.fromkeys(AARRR_METRICS))
    return {"date_from": date_from, "date_to": date_to, "channel": channel or None, "comparison": window,
            "stages": aarrr_period_comparison(date_from=date_from, date_to=date_to, channel=channel, window=window),
            "series": series, "channels": aarrr_channel_summary(date_from=date_from, date_to=date_to)}


# The report engine (analytics/services/funnel.py, retention.py, golden_time.py): computed set-based on
# request. Domain apps and pages reach it through these names.
funnel_compute = _funnel.funnel_compute
retention_compute = _retention.retention_compute
retention_average = _retention.retention_average
golden_time_compute = _golden_time.golden_time_compute
trends_compute = _trends.trends_compute
stickiness_compute = _stickiness.stickiness_compute


def event_names(*, limit: int = 200) -> list[str]:
    """The distinct event names stored, alphabetically (suggestions for the report forms).

    A loose index scan (one index probe per name, on the index led by ``event``) instead of a DISTINCT
    over every event, so it stays fast on millions of rows; the same SQL runs on SQLite.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE names(name) AS ("
            " SELECT min(event) FROM analytics_event"
            " UNION ALL"
            " SELECT (SELECT min(event) FROM analytics_event WHERE event > names.name) FROM names"
            " WHERE names.name IS NOT NULL"
            ") SELECT name FROM names WHERE name IS NOT NULL LIMIT %s",
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]


def event_names_unknown(*, names: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Messages for the event names never stored, by the place they were written: ``names`` are (place, name) pairs;
    each message lists the nearest known names (the reports' ``where=`` and step checks say the same). The canonical
    events the metrics read are always known, stored yet or not (a young install has no ``order_paid`` before its
    first order). Empty when no event is stored at all (a fresh install: nothing to compare with). One query."""
    if not names:
        return {}
    known = known_event_names()
    if not known:
        return {}
    return _unknown_names(events=names, properties=[], known_events=known)


def known_event_names() -> list[str]:
    """The event names a report or an export may ask for without a "did you mean": every name stored (up to 10,000)
    and the canonical events the metrics read, stored yet or not. Empty when no event is stored at all (a fresh
    install: nothing to compare with, every report reads zeros). One query."""
    known = event_names(limit=10_000)
    return sorted({*known, *CANONICAL_EVENTS}) if known else []


def report_last_day() -> date:
    """The day the report pages end on by default: the last day with events, or today."""
    span = event_date_span()
    return span[1] if span else local_today()


# Reads for launch impact (products passes plain event names and an aware [start, end) range).


def event_conversion_counts(*, base_event: str, goal_event: str, start: datetime, end: datetime) -> dict:
    """Customers with a ``base_event`` in [start, end) and how many of them also had a ``goal_event`` there.

    Two set-based queries: ``{"base": n, "converted": k}``.
    """
    base = Event.objects.filter(event=base_event, timestamp__gte=start, timestamp__lt=end).values("person_id")
    converted = (Event.objects.filter(event=goal_event, timestamp__gte=start, timestamp__lt=end,
                                      person_id__in=base).values("person_id").distinct().count())
    return {"base": base.distinct().count(), "converted": converted}


def event_value_per_customer(*, base_event: str, value_event: str, value_property: str, start: datetime,
                             end: datetime) -> dict:
    """Per customer with a ``base_event`` in [start, end): the sum of ``value_property`` of their ``value_event``s
    there (0 for those without). Returns ``{"n", "mean", "variance"}`` (sample variance), from one grouped query.
    """

    base = Event.objects.filter(event=base_event, timestamp__gte=start, timestamp__lt=end).values("person_id")
    n = base.distinct().count()
    totals = [float(total or 0) for total in (
        Event.objects.filter(event=value_event, timestamp__gte=start, timestamp__lt=end, person_id__in=base)
        .values("person_id").order_by()
        .annotate(total=Sum(Cast(KeyTextTransform(value_property, "properties"), FloatField())))
        .values_list("total", flat=True))]
    if n == 0:
        return {"n": 0, "mean": 0.0, "variance": 0.0}
    total, squares = sum(totals), sum(t * t for t in totals)
    mean = total / n
    variance = (squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
    return {"n": n, "mean": mean, "variance": max(variance, 0.0)}


def event_daily_customers(*, events: list[str], start: datetime, end: datetime) -> dict[str, dict[date, int]]:
    """Distinct customers per local day for each of ``events`` in [start, end). One grouped query."""
    rows = (Event.objects.filter(event__in=events, timestamp__gte=start, timestamp__lt=end)
            .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
            .values("event", "day").annotate(customers=Count("person_id", distinct=True)).order_by())
    result: dict[str, dict[date, int]] = {event: {} for event in events}
    for row in rows:
        result[row["event"]][row["day"]] = row["customers"]
    return result


def event_customer_day_totals(*, base_event: str, goal_event: str, start: datetime, end: datetime,
                              value_property: str | None = None) -> dict[date, dict]:
    """Launch impact measured on **customer-days**: per local day in [start, end), the customers with a
    ``base_event`` that day (``base``), how many of them had a ``goal_event`` the same day (``converted``), and the
    sum and the sum of squares over those customer-days of the day's ``value_property`` total of their goal events
    (``total``, ``squares``; 0 without ``value_property``).

    The headline of a window and each day of its chart are the same measure this way (the window's value is the
    days' values weighted by their ``base``). One query: customer-days grouped in SQL, then grouped again by day.
    """
    tz = timezone.get_current_timezone()
    value = (Cast(KeyTextTransform(value_property, "properties"), FloatField()) if value_property
             else Value(0.0, output_field=FloatField()))
    inner = (Event.objects.filter(event__in=[base_event, goal_event], timestamp__gte=start, timestamp__lt=end)
             .annotate(day=TruncDate("timestamp", tzinfo=tz)).values("person_id", "day").order_by()
             .annotate(has_base=Max(Case(When(event=base_event, then=Value(1)), default=Value(0))),
                       has_goal=Max(Case(When(event=goal_event, then=Value(1)), default=Value(0))),
                       total=Coalesce(Sum(Case(When(event=goal_event, then=value), default=Value(0.0),
                                               output_field=FloatField())), Value(0.0))))
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        # the inner SQL is compiled by the ORM, its values are in params
        cursor.execute(f"SELECT day, COUNT(*), SUM(has_goal), SUM(total), SUM(total * total) FROM ({sql}) AS cd "  # noqa: S608
                       "WHERE has_base = 1 GROUP BY day", params)
        rows = cursor.fetchall()
    result = {}
    for day, base, converted, total, squares in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        result[day] = {"base": int(base), "converted": int(converted or 0), "total": float(total or 0),
                       "squares": float(squares or 0)}
    return result


def event_daily_value_sum(*, event: str, value_property: str, start: datetime, end: datetime) -> dict[date, float]:
    """The sum of a numeric property of ``event`` per local day in [start, end). One grouped query."""

    rows = (Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end)
            .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
            .values("day").annotate(total=Sum(Cast(KeyTextTransform(value_property, "properties"), FloatField())))
            .order_by())
    return {row["day"]: float(row["total"] or 0) for row in rows}


# Tracking-plan checks (analytics/services/tracking_checks.py): the domain passes the plan as plain data.
tracking_check = _tracking_checks.tracking_check
TRACKING_CHECK_MAX_RANGE_DAYS = _tracking_checks.MAX_RANGE_DAYS


def ingest_key_list() -> list[IngestKey]:
    """Every ingest key, active ones first, newest first; with who created it (one query)."""
    return list(IngestKey.objects.select_related("created_by").order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"))


def ingest_key_get_by_secret(*, raw_key: str) -> IngestKey | None:
    """The key whose secret this is (revoked or not), or None."""
    if not secret_plausible(raw_key):
        return None
    return IngestKey.objects.filter(key_hash=ingest_key_hash(raw_key)).first()


# Reads for merchant operations (merchants passes plain codes and aware [start, end) ranges).


def merchant_order_aggregates(*, start: datetime, end: datetime):
    """Per merchant code: orders, GMV, customers, repeat customers in [start, end) (a DataFrame). One query."""
    return _merchant_metrics.merchant_order_aggregates(start=start, end=end)


def merchant_review_aggregates(*, start: datetime, end: datetime):
    """Per merchant code: reviews, rating sum, low ratings in [start, end) (a DataFrame). One query."""
    return _merchant_metrics.merchant_review_aggregates(start=start, end=end)


def merchant_daily_orders(*, merchant: str, start: datetime, end: datetime) -> dict:
    return _merchant_metrics.merchant_daily_orders(merchant=merchant, start=start, end=end)


def merchants_order_totals(*, merchants: list[str], start: datetime, end: datetime) -> dict[str, dict]:
    return _merchant_metrics.merchants_customer_counts(merchants=merchants, start=start, end=end)


# Reads for user operations (segments embed these lazy subqueries in their own single query).


def event_person_ids(*, event: str, since: datetime | None = None, min_count: int | None = None,
                     max_count: int | None = None):
    """The people (ids) with a number of ``event`` events since ``since`` within [min_count, max_count]: a lazy
    grouped subquery, so callers embed it in their own single query (``person_id__in=…``)."""
    events = Event.objects.filter(event=event)
    if since is not None:
        events = events.filter(timestamp__gte=since)
    people = events.values("person_id").order_by().annotate(n=Count("id"))
    if min_count is not None:
        people = people.filter(n__gte=min_count)
    if max_count is not None:
        people = people.filter(n__lte=max_count)
    return people.values("person_id")


def coupon_code_orders(*, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """Paid orders that carry a ``coupon_code`` in [start, end): person, time, code, order id and amount (one query;
    the amount is 0 when it is not a number)."""
    orders = Event.objects.filter(event="order_paid", properties__has_key="coupon_code")
    if start is not None:
        orders = orders.filter(timestamp__gte=start)
    if end is not None:
        orders = orders.filter(timestamp__lt=end)
    rows = orders.order_by("timestamp", "id").values_list("person_id", "timestamp", "properties")
    result = []
    for person_id, timestamp, properties in rows:
        amount = properties.get("amount")
        result.append({"person_id": person_id, "timestamp": timestamp, "code": str(properties.get("coupon_code"))[:64],
                       "order_id": str(properties.get("order_id", ""))[:100],
                       "amount": float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool)
                       else 0.0})
    return result



def person_activity_bounds(*, end: datetime) -> tuple[date, int, int] | None:
    """(local day of the first event, lowest person id, highest person id) over the events before ``end``; None
    when there are none. One aggregate query: what a caller needs to walk the people in id ranges."""
    bounds = Event.objects.filter(timestamp__lt=end).aggregate(first=Min("timestamp"), low=Min("person_id"),
                                                               high=Max("person_id"))
    if bounds["first"] is None:
        return None
    return timezone.localtime(bounds["first"]).date(), bounds["low"], bounds["high"]


def _int_column(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.zeros(0, dtype=np.int64)


def person_daily_activity(*, end: datetime, start: datetime | None = None, person_from: int | None = None,
                          person_to: int | None = None) -> dict[str, np.ndarray]:
    """Every active person-day of the events in [``start``, ``end``) of the people with ``person_from`` ≤ id <
    ``person_to`` (None: no bound), as columns (int64 arrays of equal length): ``person_id``, ``day`` (the local
    day's ``date.toordinal()``), ``events`` and ``orders`` (``order_paid`` events). One grouped query, streamed
    (rows = active person-days, not events; no Python object per row is kept), so callers bound memory by asking
    for a range of people at a time."""
    events = Event.objects.filter(timestamp__lt=end)
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if person_from is not None:
        events = events.filter(person_id__gte=person_from)
    if person_to is not None:
        events = events.filter(person_id__lt=person_to)
    rows = (events.annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
            .values("person_id", "day").order_by()
            .annotate(events=Count("id"), orders=Count("id", filter=Q(event="order_paid")))
            .values_list("person_id", "day", "events", "orders"))
    columns = {name: array("q") for name in ("person_id", "day", "events", "orders")}
    person_ids, days, counts, orders = columns.values()
    for person_id, day, n, paid in rows.iterator(chunk_size=20_000):
        person_ids.append(person_id)
        days.append(day.toordinal())
        counts.append(n)
        orders.append(paid)
    return {name: _int_column(values) for name, values in columns.items()}


def person_activity_totals(*, end: datetime, person_from: int | None = None,
                           person_to: int | None = None) -> dict[str, np.ndarray]:
    """Per person (ids in [``person_from``, ``person_to``)) with events before ``end``: ``person_id``, ``events``
    and ``orders`` in all, as int64 columns. One grouped query: the history before a window, folded into one day."""
    events = Event.objects.filter(timestamp__lt=end)
    if person_from is not None:
        events = events.filter(person_id__gte=person_from)
    if person_to is not None:
        events = events.filter(person_id__lt=person_to)
    rows = (events.values("person_id").order_by()
            .annotate(events=Count("id"), orders=Count("id", filter=Q(event="order_paid")))
            .values_list("person_id", "events", "orders"))
    columns = {name: array("q") for name in ("person_id", "events", "orders")}
    person_ids, counts, orders = columns.values()
    for person_id, n, paid in rows.iterator(chunk_size=20_000):
        person_ids.append(person_id)
        counts.append(n)
        orders.append(paid)
    return {name: _int_column(values) for name, values in columns.items()}


# Customer activity (the users app's refresh, timelines, channel cohorts and coupon results)

CUSTOMER_ACTIVITY_COLUMNS = _customer_activity.ACTIVITY_COLUMNS


def customer_activity_sql(*, order_cutoffs=()) -> tuple[str, list]:
    """SQL (and its parameters) selecting ``CUSTOMER_ACTIVITY_COLUMNS`` for every person with events, for the users
    app to read set-based inside its own statement."""
    return _customer_activity.customer_activity_sql(order_cutoffs=order_cutoffs)


def first_touch_revenue_by_day(*, start: datetime, end: datetime, max_days: int = 90, now: datetime | None = None,
                               windows=()) -> list[dict]:
    return _customer_activity.first_touch_revenue_by_day(start=start, end=end, max_days=max_days, now=now,
                                                         windows=windows)


def first_touch_repeat(*, start: datetime, end: datetime, days: int, now: datetime) -> dict[str, dict]:
    return _customer_activity.first_touch_repeat(start=start, end=end, days=days, now=now)


def person_timeline(*, person_id: int, limit: int = 200) -> list[dict]:
    return _customer_activity.person_timeline(person_id=person_id, limit=limit)


def order_revenue_by_group(*, groups: dict[str, object], start: datetime, end: datetime) -> dict[str, float]:
    return _customer_activity.order_revenue_by_group(groups=groups, start=start, end=end)


def order_stats_by_group(*, groups: dict[str, object], start: datetime, end: datetime) -> dict[str, dict]:
    """Buyers, revenue and the sum of squared revenue per buyer of each group of people in [start, end)
    (analytics.services.customer_activity.order_stats_by_group)."""
    return _customer_activity.order_stats_by_group(groups=groups, start=start, end=end)


# Identity (analytics/services/identity.py): the domain apps follow merges through these.


def person_id_of(*, distinct_id: str) -> int | None:
    """The person a distinct id's events belong to now (after identify/alias merges), or None."""
    return _identity.person_id_resolve(distinct_id)


def person_merges_sql() -> str:
    """SQL selecting ``(from_person, into_person)`` of every merge: a person's rows elsewhere move to ``into_person``
    (always a person that is not itself merged)."""
    return f"SELECT from_person, into_person FROM {PersonMerge._meta.db_table}"  # noqa: S608
