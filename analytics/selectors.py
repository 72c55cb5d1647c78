"""Read functions of the analytics app: the only way domain apps and the site reach analytics data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import AarrrDaily, Event, MetricsRun, Person
from analytics.services import funnel as _funnel
from analytics.services import golden_time as _golden_time
from analytics.services import retention as _retention


def event_count() -> int:
    return Event.objects.count()


def person_count() -> int:
    """Distinct customers (distinct ids) seen in events."""
    return Person.objects.count()


def metrics_run_latest() -> MetricsRun | None:
    return MetricsRun.objects.order_by("-started_at", "-id").first()


def metrics_run_list(*, limit: int = 20) -> list[MetricsRun]:
    return list(MetricsRun.objects.order_by("-started_at", "-id")[:limit])


def event_daily_counts(*, days: int = 30) -> list[dict]:
    """Events stored per local day for the last ``days`` days (oldest first), zero-filled."""
    today = timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    rows = (
        Event.objects.filter(timestamp__gte=start)
        .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(count=Count("id"))
    )
    counts = {row["day"]: row["count"] for row in rows}
    return [{"date": first_day + timedelta(days=i), "count": counts.get(first_day + timedelta(days=i), 0)}
            for i in range(days)]


def aarrr_totals(*, date_from: date, date_to: date) -> dict:
    """Sum of the stored AARRR rows over a date range, all channels."""
    totals = AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to).aggregate(
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


# The report engine (analytics/services/funnel.py, retention.py, golden_time.py): computed set-based on
# request. Domain apps and pages reach it through these names.
funnel_compute = _funnel.funnel_compute
retention_compute = _retention.retention_compute
golden_time_compute = _golden_time.golden_time_compute


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


def report_last_day() -> date:
    """The day the report pages end on by default: the last day with events, or today."""
    span = event_date_span()
    return span[1] if span else timezone.localdate()
