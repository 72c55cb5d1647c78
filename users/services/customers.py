"""Keeping ``Customer`` from the events: one set-based refresh (nightly and on demand).

``customers_refresh`` runs, in one transaction, a handful of statements whatever the number of customers:

1. ``INSERT … SELECT … ON CONFLICT DO UPDATE`` of every customer's activity (analytics' grouped summary), with the
   life-cycle stage computed in the same SELECT from the thresholds; the stage held before moves to
   ``previous_stage``;
2. one ``UPDATE … FROM`` giving RFM scores 1–5 (``CUME_DIST`` quintiles, so equal values share a score) and the
   named segment of the R×F grid;
3. today's stage counts replaced and the stage flows of this refresh added (grouped over the table).

Running it twice leaves the same customers and counts (flows only count customers whose stage changed).
"""

from __future__ import annotations

import time as _time
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from analytics.services.customer_activity import ACTIVITY_COLUMNS, customer_activity_sql
from users.models import Customer, CustomerRefresh, LifecycleSettings, RfmSegment, Stage, StageDaily, StageFlow

# The named RFM grid: recency score (rows, 5 = most recent) × frequency score (columns 1…5).
RFM_GRID: dict[int, list[str]] = {
    5: [RfmSegment.NEW_CUSTOMERS, RfmSegment.POTENTIAL_LOYALISTS, RfmSegment.POTENTIAL_LOYALISTS,
        RfmSegment.CHAMPIONS, RfmSegment.CHAMPIONS],
    4: [RfmSegment.PROMISING, RfmSegment.POTENTIAL_LOYALISTS, RfmSegment.LOYAL, RfmSegment.LOYAL,
        RfmSegment.CHAMPIONS],
    3: [RfmSegment.ABOUT_TO_SLEEP, RfmSegment.NEED_ATTENTION, RfmSegment.NEED_ATTENTION, RfmSegment.LOYAL,
        RfmSegment.LOYAL],
    2: [RfmSegment.HIBERNATING, RfmSegment.HIBERNATING, RfmSegment.AT_RISK, RfmSegment.AT_RISK,
        RfmSegment.CANT_LOSE],
    1: [RfmSegment.LOST, RfmSegment.LOST, RfmSegment.AT_RISK, RfmSegment.CANT_LOSE, RfmSegment.CANT_LOSE],
}


def rfm_segment_of(*, recency: int, frequency: int) -> str:
    """The named segment of a cell of the grid ("" outside 1…5, i.e. customers without orders)."""
    if not (1 <= recency <= 5 and 1 <= frequency <= 5):
        return ""
    return str(RFM_GRID[recency][frequency - 1])


def lifecycle_settings_get() -> LifecycleSettings:
    settings, _ = LifecycleSettings.objects.get_or_create(pk=1)
    return settings


def _time_param(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _stage_case(thresholds: LifecycleSettings, now: datetime) -> tuple[str, list]:
    """CASE over the activity row ``s`` giving the life-cycle stage as of ``now`` (rules in docs)."""
    new_since = now - timedelta(days=thresholds.new_days)
    active_since = now - timedelta(days=thresholds.active_days)
    churn_since = now - timedelta(days=thresholds.churn_days)
    sql = f"""CASE
        WHEN s.orders = 0 AND s.first_seen_at >= %s THEN '{Stage.NEW}'
        WHEN s.orders = 0 AND s.last_seen_at >= %s THEN '{Stage.AT_RISK}'
        WHEN s.orders = 0 THEN '{Stage.CHURNED}'
        WHEN s.orders_since_0 > 0 AND s.orders_since_1 = s.orders_since_0 AND s.orders > s.orders_since_1
            THEN '{Stage.RESURRECTED}'
        WHEN s.orders = 1 AND s.first_order_at >= %s THEN '{Stage.ACTIVATED}'
        WHEN s.last_order_at >= %s THEN '{Stage.ACTIVE}'
        WHEN s.last_order_at >= %s THEN '{Stage.AT_RISK}'
        ELSE '{Stage.CHURNED}' END"""
    params = [_time_param(value) for value in (new_since, churn_since, active_since, active_since, churn_since)]
    return sql, params


def lifecycle_cutoffs(thresholds: LifecycleSettings, now: datetime) -> list[datetime]:
    """orders_since_0: orders in the active window; orders_since_1: orders since (active + churn) days ago —
    equal counts with earlier orders mean a gap of a whole churn period before this window: resurrected."""
    return [now - timedelta(days=thresholds.active_days),
            now - timedelta(days=thresholds.active_days + thresholds.churn_days)]


def _upsert(now: datetime, thresholds: LifecycleSettings) -> None:
    activity_sql, activity_params = customer_activity_sql(order_cutoffs=lifecycle_cutoffs(thresholds, now))
    stage_sql, stage_params = _stage_case(thresholds, now)
    table = Customer._meta.db_table
    columns = list(ACTIVITY_COLUMNS)
    updated = [column for column in columns if column != "person_id"]
    sql = f"""
    INSERT INTO {table} AS c ({", ".join(columns)}, stage, previous_stage, recency_score, frequency_score,
                              monetary_score, rfm_segment, refreshed_at)
    SELECT {", ".join(f"s.{column}" for column in columns)}, {stage_sql}, '', 0, 0, 0, '', %s
    FROM ({activity_sql}) s
    WHERE true
    ON CONFLICT (person_id) DO UPDATE SET
        {", ".join(f"{column} = excluded.{column}" for column in updated)},
        previous_stage = c.stage, stage = excluded.stage, recency_score = 0, frequency_score = 0,
        monetary_score = 0, rfm_segment = '', refreshed_at = excluded.refreshed_at
    """  # noqa: S608 - names only; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*stage_params, _time_param(now), *activity_params])


def _grid_case() -> str:
    cells = []
    for recency in range(1, 6):
        for frequency in range(1, 6):
            name = rfm_segment_of(recency=recency, frequency=frequency)
            cells.append(f"WHEN r.rs = {recency} AND r.fs = {frequency} THEN '{name}'")
    return f"CASE {' '.join(cells)} ELSE '' END"


def _score(column: str) -> str:
    return (f"CASE WHEN CUME_DIST() OVER (ORDER BY {column}) <= 0.2 THEN 1 "
            f"WHEN CUME_DIST() OVER (ORDER BY {column}) <= 0.4 THEN 2 "
            f"WHEN CUME_DIST() OVER (ORDER BY {column}) <= 0.6 THEN 3 "
            f"WHEN CUME_DIST() OVER (ORDER BY {column}) <= 0.8 THEN 4 ELSE 5 END")


def _rfm() -> None:
    table = Customer._meta.db_table
    sql = f"""
    UPDATE {table} SET recency_score = r.rs, frequency_score = r.fs, monetary_score = r.ms,
                       rfm_segment = {_grid_case()}
    FROM (SELECT person_id, {_score("last_order_at")} AS rs, {_score("orders")} AS fs, {_score("spend")} AS ms
          FROM {table} WHERE orders > 0) r
    WHERE {table}.person_id = r.person_id
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _stage_counts(day) -> None:
    StageDaily.objects.filter(date=day).delete()
    counts = Customer.objects.values("stage").order_by().annotate(n=Count("person_id"))
    StageDaily.objects.bulk_create([StageDaily(date=day, stage=row["stage"], customers=row["n"]) for row in counts])
    flows = (Customer.objects.exclude(stage=F("previous_stage")).values("previous_stage", "stage").order_by()
             .annotate(n=Count("person_id")))
    for_day = {(flow.from_stage, flow.to_stage): flow for flow in StageFlow.objects.filter(date=day)}
    new_rows, changed = [], []
    for row in flows:
        existing = for_day.get((row["previous_stage"], row["stage"]))
        if existing is None:
            new_rows.append(StageFlow(date=day, from_stage=row["previous_stage"], to_stage=row["stage"],
                                      customers=row["n"]))
        else:
            existing.customers += row["n"]
            changed.append(existing)
    StageFlow.objects.bulk_create(new_rows)
    StageFlow.objects.bulk_update(changed, ["customers"])


def _tune_session() -> None:
    """PostgreSQL: room for the per-customer hash aggregate and sorts, no JIT (as the report engine does)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")


def customers_refresh(*, trigger: str = "manual", now: datetime | None = None) -> CustomerRefresh:
    """Rebuild every customer from the events (set-based), then RFM, stage counts and flows. Records the run."""
    now = now or timezone.now()
    run = CustomerRefresh.objects.create(trigger=trigger)
    started = _time.perf_counter()
    try:
        with transaction.atomic():
            _tune_session()
            thresholds = lifecycle_settings_get()
            _upsert(now, thresholds)
            _rfm()
            _stage_counts(timezone.localdate(now))
            customers = Customer.objects.count()
    except Exception as error:
        CustomerRefresh.objects.filter(pk=run.pk).update(status=CustomerRefresh.Status.FAILED, error=str(error)[:2000],
                                                         finished_at=timezone.now())
        raise
    run.status = CustomerRefresh.Status.DONE
    run.customers = customers
    run.seconds = round(_time.perf_counter() - started, 3)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "customers", "seconds", "finished_at"])
    return run
