"""Nightly AARRR metrics: computed set-based, stored per (day, first-touch channel).

Semantics (DESIGN.md): day boundaries in TIME_ZONE; a customer's channel is the ``channel`` of their
first-ever ``visit`` (``"(none)"`` without one).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.models import AarrrDaily, Event, MetricsRun, Person, PersonFacts
from ops_platform.core.db import on_working_connection
from ops_platform.core.invites import PREFIX as INVITE_PREFIX
from ops_platform.core.invites import invite_code_sql
from ops_platform.core.periods import local_range

logger = logging.getLogger(__name__)

NO_CHANNEL = "(none)"
REFERRER_CHUNK = 2000
AARRR_STORE_LOCK = int.from_bytes(b"AARRR", "big")  # the advisory lock every writer of AarrrDaily takes
BACKFILL_CHUNK_DAYS = 7
ABANDONED_AFTER = timedelta(hours=3)
ABANDONED_ERROR = "Abandoned: the worker stopped before the run finished; its days are computed again."
METRIC_COLUMNS = ["acquisition", "activation", "retention", "revenue", "paying_customers", "referral"]


def _local_dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.tz_convert(settings.TIME_ZONE).dt.date


def _frame(queryset, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(queryset.values_list(*columns)), columns=columns)


def _channel(series: pd.Series) -> pd.Series:
    return series.fillna(NO_CHANNEL).replace("", NO_CHANNEL)


# The person whose facts stand for a person row: itself, or the person it was merged into (identity).
KEPT_PERSON = Coalesce("merged_into", "id", output_field=BigIntegerField())


def _referrer_channels(referrers: list[str]) -> dict[str, str]:
    """referrer → the referring person's first-touch channel, for the referrers named in the range (chunked,
    set-based). A referrer is a distinct_id or an invite code (``ops_platform.core.invites``); codes are matched by
    computing every person's code in SQL, only when the range names any (the lowest person id wins a collision)."""
    channels: dict[str, str] = {}
    kept: dict[str, int] = {}
    unique = sorted(set(referrers))
    for offset in range(0, len(unique), REFERRER_CHUNK):
        chunk = unique[offset:offset + REFERRER_CHUNK]
        # A referrer named by an id merged into another person (identity) has the kept person's facts.
        kept.update(Person.objects.filter(distinct_id__in=chunk).values_list("distinct_id", KEPT_PERSON))
    codes = [name for name in unique if name.startswith(INVITE_PREFIX) and name not in kept]
    if codes:
        person = Person._meta.db_table
        coded = Person.objects.annotate(code=RawSQL(invite_code_sql(f'"{person}"."distinct_id"'), []))  # noqa: S611
        for offset in range(0, len(codes), REFERRER_CHUNK):
            for code, kept_person in (coded.filter(code__in=codes[offset:offset + REFERRER_CHUNK]).order_by("id")
                                      .values_list("code", KEPT_PERSON)):
                kept.setdefault(code, kept_person)
    facts: dict[int, str] = {}
    people = sorted(set(kept.values()))
    for offset in range(0, len(people), REFERRER_CHUNK):
        facts.update(PersonFacts.objects.filter(person_id__in=people[offset:offset + REFERRER_CHUNK])
                     .values_list("person_id", "first_channel"))
    channels.update({name: facts.get(person) for name, person in kept.items()})
    return {key: value or NO_CHANNEL for key, value in channels.items()}


def aarrr_compute(*, date_from: date, date_to: date) -> pd.DataFrame:
    """The AARRR rows for every day in [date_from, date_to], one per (date, channel) with any activity.

    Only the range's events are read; what the semantics need from all history (first-ever visit and its
    channel, first sign-up, first order) comes from ``PersonFacts``, kept up to date at ingestion, so a
    night's refresh costs the same at 1M or 100M events of history.
    """
    start, end = local_range(date_from, date_to)
    in_range = Event.objects.filter(timestamp__gte=start, timestamp__lt=end)
    parts = []

    acquired = _frame(PersonFacts.objects.filter(first_visit_at__gte=start, first_visit_at__lt=end),
                      ["first_visit_at", "first_channel"])
    acquired["date"] = _local_dates(acquired["first_visit_at"])
    acquired["channel"] = _channel(acquired["first_channel"])
    parts.append(acquired.groupby(["date", "channel"]).size().rename("acquisition"))

    signups = _frame(PersonFacts.objects.filter(first_signup_at__gte=start, first_signup_at__lt=end),
                     ["first_signup_at", "first_channel"])
    signups["date"] = _local_dates(signups["first_signup_at"])
    signups["channel"] = _channel(signups["first_channel"])
    parts.append(signups.groupby(["date", "channel"]).size().rename("activation"))

    orders = _frame(
        in_range.filter(event="order_paid").annotate(amount=KeyTransform("amount", "properties")),
        ["person_id", "timestamp", "amount", "person__facts__first_channel", "person__facts__first_order_at"],
    ).rename(columns={"person__facts__first_channel": "first_channel",
                      "person__facts__first_order_at": "first_order_at"})
    orders["date"] = _local_dates(orders["timestamp"])
    orders["amount"] = pd.to_numeric(orders["amount"], errors="coerce").fillna(0.0)
    orders["channel"] = _channel(orders["first_channel"])
    parts.append(orders.groupby(["date", "channel"])["amount"].sum().rename("revenue"))
    parts.append(orders.groupby(["date", "channel"])["person_id"].nunique().rename("paying_customers"))
    # Retention: an order on d by a customer whose first-ever order was before d's local midnight.
    day_start = pd.to_datetime(orders["timestamp"], utc=True).dt.tz_convert(settings.TIME_ZONE).dt.normalize()
    repeat = orders[pd.to_datetime(orders["first_order_at"], utc=True) < day_start]
    parts.append(repeat.groupby(["date", "channel"])["person_id"].nunique().rename("retention"))

    referred = _frame(in_range.filter(event="signup").annotate(referrer=KeyTransform("referrer", "properties")),
                      ["timestamp", "referrer"])
    referred = referred[referred["referrer"].notna()].copy()
    referred["referrer"] = referred["referrer"].map(_referrer_text)
    referred = referred[referred["referrer"] != ""]
    referred["date"] = _local_dates(referred["timestamp"])
    referrer_channel = _referrer_channels(referred["referrer"].tolist())
    referred["channel"] = referred["referrer"].map(referrer_channel).astype(object).fillna(NO_CHANNEL)
    parts.append(referred.groupby(["date", "channel"]).size().rename("referral"))

    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=["date", "channel", *METRIC_COLUMNS])
    table = pd.concat(parts, axis=1).fillna(0)
    for column in METRIC_COLUMNS:
        if column not in table:
            table[column] = 0
    table = table.reset_index().rename(columns={"level_0": "date", "level_1": "channel"})
    return table[["date", "channel", *METRIC_COLUMNS]].sort_values(["date", "channel"]).reset_index(drop=True)


def _referrer_text(value) -> str:
    """The referrer as the distinct id it names: strings stripped; numbers as written; anything else is none."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


@transaction.atomic
def aarrr_store(*, date_from: date, date_to: date, table: pd.DataFrame) -> int:
    """Replace the stored rows of [date_from, date_to] with ``table`` in one transaction (idempotent).

    Runs over overlapping days (a backfill beside the nightly job) take turns: on PostgreSQL a transaction-level
    advisory lock serialises the replace, so neither sees the other's half-written days; SQLite serialises
    writers by itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AARRR_STORE_LOCK])
    AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to).delete()
    rows = [
        AarrrDaily(
            date=record["date"], channel=record["channel"][:100],
            acquisition=int(record["acquisition"]), activation=int(record["activation"]),
            retention=int(record["retention"]), revenue=Decimal(str(round(float(record["revenue"]), 2))),
            paying_customers=int(record["paying_customers"]), referral=int(record["referral"]),
        )
        for record in table.to_dict("records")
    ]
    AarrrDaily.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def metrics_run_execute(*, date_from: date, date_to: date, trigger: str = MetricsRun.Trigger.COMMAND) -> MetricsRun:
    """Compute and store the AARRR rows of a date range, recorded as a ``MetricsRun``.

    A failure is recorded on the run (status ``failed`` with the error) and raised again, so that Celery
    can retry it; the stored rows of the range are untouched by a failed run.
    """
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}.")
    run = MetricsRun.objects.create(date_from=date_from, date_to=date_to, trigger=trigger)
    try:
        table = aarrr_compute(date_from=date_from, date_to=date_to)
        rows = aarrr_store(date_from=date_from, date_to=date_to, table=table)
    except Exception as exc:
        logger.exception("Metrics run %s failed", run.id)
        error = f"{type(exc).__name__}: {exc}"[:5000]
        on_working_connection(lambda: MetricsRun.objects.filter(pk=run.pk).update(
            status=MetricsRun.Status.FAILED, finished_at=timezone.now(), error=error
        ))
        raise
    MetricsRun.objects.filter(pk=run.pk).update(status=MetricsRun.Status.DONE, finished_at=timezone.now(), rows=rows)
    run.refresh_from_db()
    return run


def date_chunks(*, date_from: date, date_to: date, days: int = BACKFILL_CHUNK_DAYS) -> list[tuple[date, date]]:
    """[date_from, date_to] cut into consecutive ranges of at most ``days`` days."""
    chunks = []
    cursor = date_from
    while cursor <= date_to:
        chunk_end = min(cursor + timedelta(days=days - 1), date_to)
        chunks.append((cursor, chunk_end))
        cursor = chunk_end + timedelta(days=1)
    return chunks


def metrics_runs_abandon(*, older_than: timedelta) -> list[MetricsRun]:
    """Mark runs still ``started`` ``older_than`` after they began as failed (their worker died: no task outlives its
    hard time limit) and return them. Each is one row, so a run that finishes meanwhile is left alone."""
    cutoff = timezone.now() - older_than
    stale = list(MetricsRun.objects.filter(status=MetricsRun.Status.STARTED, started_at__lt=cutoff))
    abandoned = []
    for run in stale:  # at most a few: one per task a dead worker held
        if MetricsRun.objects.filter(pk=run.pk, status=MetricsRun.Status.STARTED).update(
                status=MetricsRun.Status.FAILED, finished_at=timezone.now(), error=ABANDONED_ERROR):
            run.status, run.error = MetricsRun.Status.FAILED, ABANDONED_ERROR
            abandoned.append(run)
    return abandoned


def metrics_runs_recover(*, older_than: timedelta = ABANDONED_AFTER) -> list[tuple[date, date]]:
    """Mark runs left ``started`` by a worker that died as failed, and return their ranges to recompute."""
    return sorted({(run.date_from, run.date_to) for run in metrics_runs_abandon(older_than=older_than)})
