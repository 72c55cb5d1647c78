"""Read functions of the analytics app: the only way domain apps and the site reach analytics data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import AarrrDaily, Event, IngestKey, MetricsRun, Person
from analytics.services.keys import ingest_key_hash


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


def ingest_key_list() -> list[IngestKey]:
    """Every ingest key, active ones first, newest first; with who created it (one query)."""
    return list(IngestKey.objects.select_related("created_by").order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"))


def ingest_key_get_by_secret(*, raw_key: str) -> IngestKey | None:
    """The key whose secret this is (revoked or not), or None."""
    if not raw_key or len(raw_key) > 200:
        return None
    return IngestKey.objects.filter(key_hash=ingest_key_hash(raw_key)).first()
