"""Nightly AARRR metrics: computed set-based, stored per (day, first-touch channel).

Semantics (DESIGN.md): day boundaries in TIME_ZONE; a customer's channel is the ``channel`` of their
first-ever ``visit`` (``"(none)"`` without one).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from analytics.models import AarrrDaily, Event, MetricsRun

logger = logging.getLogger(__name__)

NO_CHANNEL = "(none)"
METRIC_COLUMNS = ["acquisition", "activation", "retention", "revenue", "paying_customers", "referral"]


def local_day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _local_dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.tz_convert(settings.TIME_ZONE).dt.date


def _first_touch() -> pd.DataFrame:
    """Each person's first-ever visit: person_id, distinct_id, first_visit_at, channel."""
    rows = Event.objects.filter(event="visit").order_by("person_id", "timestamp", "id").values_list(
        "person_id", "distinct_id", "timestamp", "channel"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["person_id", "distinct_id", "first_visit_at", "channel"])
    frame = frame.drop_duplicates("person_id", keep="first")
    frame["channel"] = frame["channel"].replace("", NO_CHANNEL)
    return frame


def _first_times(event_name: str) -> pd.DataFrame:
    rows = Event.objects.filter(event=event_name).values("person_id").annotate(first=Min("timestamp"))
    return pd.DataFrame.from_records(list(rows.values_list("person_id", "first")), columns=["person_id", "first"])


def aarrr_compute(*, date_from: date, date_to: date) -> pd.DataFrame:
    """The AARRR rows for every day in [date_from, date_to], one per (date, channel) with any activity."""
    start, end = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))
    touch = _first_touch()
    channel_of = touch.set_index("person_id")["channel"]

    def by_channel(frame: pd.DataFrame) -> pd.Series:
        return frame["person_id"].map(channel_of).fillna(NO_CHANNEL)

    parts = []

    acquired = touch[(touch["first_visit_at"] >= start) & (touch["first_visit_at"] < end)].copy()
    acquired["date"] = _local_dates(acquired["first_visit_at"])
    parts.append(acquired.groupby(["date", "channel"]).size().rename("acquisition"))

    signups = _first_times("signup")
    signups = signups[(signups["first"] >= start) & (signups["first"] < end)].copy()
    signups["date"] = _local_dates(signups["first"])
    signups["channel"] = by_channel(signups)
    parts.append(signups.groupby(["date", "channel"]).size().rename("activation"))

    orders = pd.DataFrame.from_records(
        list(Event.objects.filter(event="order_paid", timestamp__gte=start, timestamp__lt=end)
             .values_list("person_id", "timestamp", "properties__amount")),
        columns=["person_id", "timestamp", "amount"],
    )
    orders["date"] = _local_dates(orders["timestamp"])
    orders["amount"] = pd.to_numeric(orders["amount"], errors="coerce").fillna(0.0)
    orders["channel"] = by_channel(orders)
    parts.append(orders.groupby(["date", "channel"])["amount"].sum().rename("revenue"))
    parts.append(orders.groupby(["date", "channel"])["person_id"].nunique().rename("paying_customers"))

    # Retention: an order on d by a customer whose first-ever order was before d's local midnight.
    first_orders = _first_times("order_paid").set_index("person_id")["first"]
    first_order_at = pd.to_datetime(orders["person_id"].map(first_orders), utc=True)
    day_start = pd.to_datetime(orders["timestamp"], utc=True).dt.tz_convert(settings.TIME_ZONE).dt.normalize()
    repeat = orders[first_order_at < day_start]
    parts.append(repeat.groupby(["date", "channel"])["person_id"].nunique().rename("retention"))

    referred = pd.DataFrame.from_records(
        list(Event.objects.filter(event="signup", timestamp__gte=start, timestamp__lt=end)
             .values_list("timestamp", "properties__referrer")),
        columns=["timestamp", "referrer"],
    )
    referred = referred[referred["referrer"].notna() & (referred["referrer"].astype(str).str.strip() != "")].copy()
    referred["date"] = _local_dates(referred["timestamp"])
    referrer_channel = touch.set_index("distinct_id")["channel"]
    referred["channel"] = referred["referrer"].astype(str).map(referrer_channel).fillna(NO_CHANNEL)
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


@transaction.atomic
def aarrr_store(*, date_from: date, date_to: date, table: pd.DataFrame) -> int:
    """Replace the stored rows of [date_from, date_to] with ``table`` in one transaction (idempotent)."""
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
        MetricsRun.objects.filter(pk=run.pk).update(
            status=MetricsRun.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:5000]
        )
        raise
    MetricsRun.objects.filter(pk=run.pk).update(status=MetricsRun.Status.DONE, finished_at=timezone.now(), rows=rows)
    run.refresh_from_db()
    return run
