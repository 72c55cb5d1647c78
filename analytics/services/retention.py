"""Cohort retention, computed set-based: SQL on PostgreSQL, a vectorised pandas path elsewhere (SQLite).

Semantics (DESIGN.md, "Metric semantics"), for ``cohort_event`` E1, ``return_event`` E2 and period P:

- a customer's cohort is the local period (TIME_ZONE; weeks start on Monday) of their first-ever E1 event,
  over all history; the customer is counted when that event falls within D1 00:00 … D2 24:00;
- ``retained[k]`` counts the cohort's customers with an E2 event in period cohort+k, k = 0…N−1; for k = 0
  only E2 events at or after the customer's first E1 event count (so with E1 = E2, ``retained[0]`` is the
  cohort size);
- ``property_filter=(name, value)`` (optional): only E1 and E2 events whose property ``name`` is the text
  ``value`` count (e.g. one merchant's customers: order_paid with merchant_id = its code);
- only cohorts with at least one customer are listed, oldest first, each named by the first day of its
  period; periods still in the future count 0.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.db import connection, transaction
from django.db.models import Min, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from analytics.models import Event
from analytics.services.funnel import WORK_MEM
from analytics.services.periods import (
    PERIODS,
    epoch_us,
    local_day_start,
    local_ordinals,
    moment_us,
    ordinal_first_day,
    period_add,
    period_first_day,
)

DEFAULT_PERIODS = 8
MAX_PERIODS = 60


def retention_compute(*, cohort_event: str, return_event: str, period: str, date_from: date, date_to: date,
                      periods: int = DEFAULT_PERIODS, engine: str | None = None,
                      property_filter: tuple[str, str] | None = None) -> dict:
    """``{"period", "cohorts": [{"cohort": "YYYY-MM-DD", "size", "retained": [N counts]}]}`` (DESIGN.md)."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    engine = engine or ("sql" if connection.vendor == "postgresql" else "pandas")
    start = local_day_start(date_from)
    end = local_day_start(date_to + timedelta(days=1))
    # No return event after the start of period N of the last possible cohort can count.
    horizon = local_day_start(period_add(period_first_day(date_to, period), period, periods))
    compute = _retention_sql if engine == "sql" else _retention_pandas
    sizes, retained = compute(cohort_event=cohort_event, return_event=return_event, period=period, start=start,
                              end=end, horizon=horizon, periods=periods,
                              property_filter=(str(property_filter[0]), str(property_filter[1])) if property_filter
                              else None)
    cohorts = []
    for ordinal in sorted(sizes):
        row = retained.get(ordinal, {})
        cohorts.append({
            "cohort": ordinal_first_day(ordinal, period).isoformat(),
            "size": int(sizes[ordinal]),
            "retained": [int(row.get(k, 0)) for k in range(periods)],
        })
    return {"period": period, "cohorts": cohorts}


def _filtered(events, property_filter):
    if not property_filter:
        return events
    return events.alias(p=Cast(KeyTextTransform(property_filter[0], "properties"), TextField())).filter(
        p=property_filter[1])


def _retention_pandas(*, cohort_event, return_event, period, start, end, horizon, periods, property_filter=None):
    firsts = pd.DataFrame.from_records(
        list(_filtered(Event.objects.filter(event=cohort_event), property_filter).order_by().values("person_id")
             .annotate(first=Min("timestamp")).values_list("person_id", "first")),
        columns=["person_id", "first"],
    )
    if firsts.empty:
        return {}, {}
    firsts["first_us"] = epoch_us(firsts["first"])
    cohort = firsts[(firsts["first_us"] >= moment_us(start)) & (firsts["first_us"] < moment_us(end))].copy()
    if cohort.empty:
        return {}, {}
    cohort["cohort"] = local_ordinals(cohort["first_us"], period)
    sizes = cohort.groupby("cohort").size().to_dict()

    returns = pd.DataFrame.from_records(
        list(_filtered(Event.objects.filter(event=return_event, timestamp__gte=start, timestamp__lt=horizon),
                       property_filter).order_by().values_list("person_id", "timestamp")),
        columns=["person_id", "timestamp"],
    )
    if returns.empty:
        return sizes, {}
    returns["ts"] = epoch_us(returns["timestamp"])
    joined = returns[["person_id", "ts"]].merge(cohort[["person_id", "first_us", "cohort"]], on="person_id")
    joined = joined[joined["ts"] >= joined["first_us"]]
    joined = joined.assign(k=local_ordinals(joined["ts"].to_numpy(), period) - joined["cohort"].to_numpy())
    joined = joined[(joined["k"] >= 0) & (joined["k"] < periods)]
    counts = joined.drop_duplicates(["person_id", "k"]).groupby(["cohort", "k"]).size()
    retained: dict[int, dict[int, int]] = {}
    for (ordinal, k), count in counts.items():
        retained.setdefault(int(ordinal), {})[int(k)] = int(count)
    return sizes, retained


# Period ordinals in SQL, matching ``local_ordinals``: days, Monday-based weeks and months since 1970-01-01.
_SQL_ORDINAL = {
    "day": "(({local})::date - DATE '1970-01-01')",
    "week": "((date_trunc('week', {local})::date - DATE '1969-12-29') / 7)",
    "month": "((extract(year FROM {local})::int - 1970) * 12 + extract(month FROM {local})::int - 1)",
}


def _retention_sql(*, cohort_event, return_event, period, start, end, horizon, periods, property_filter=None):
    """First-ever cohort events into a temporary table (ANALYZEd), then one join with the return events."""
    tz = timezone.get_current_timezone_name()
    cohort_ordinal = _SQL_ORDINAL[period].format(local="(c.first_at AT TIME ZONE %(tz)s)")
    return_ordinal = _SQL_ORDINAL[period].format(local="(e.timestamp AT TIME ZONE %(tz)s)")
    params = {"cohort_event": cohort_event, "return_event": return_event, "start": start, "end": end,
              "horizon": horizon, "periods": periods, "tz": tz}
    where, where_e = "", ""
    if property_filter:
        params.update(p_name=property_filter[0], p_value=property_filter[1])
        where = " AND properties ->> %(p_name)s = %(p_value)s"
        where_e = " AND e.properties ->> %(p_name)s = %(p_value)s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute("DROP TABLE IF EXISTS _retention_cohort")
        cursor.execute(
            "CREATE TEMPORARY TABLE _retention_cohort ON COMMIT DROP AS "  # noqa: S608 (fixed SQL fragments)
            f"SELECT c.person_id, c.first_at, {cohort_ordinal} AS cohort FROM ("
            "  SELECT person_id, min(timestamp) AS first_at FROM analytics_event WHERE event = %(cohort_event)s "
            f"  {where} GROUP BY person_id) AS c "
            "WHERE c.first_at >= %(start)s AND c.first_at < %(end)s",
            params,
        )
        cursor.execute("ANALYZE _retention_cohort")
        cursor.execute("SELECT cohort, count(*) FROM _retention_cohort GROUP BY cohort")
        sizes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT cohort, k, count(*) FROM ("  # noqa: S608 (fixed SQL fragments)
            f"  SELECT DISTINCT c.person_id, c.cohort, {return_ordinal} - c.cohort AS k "
            "  FROM _retention_cohort AS c JOIN analytics_event AS e ON e.person_id = c.person_id "
            "  WHERE e.event = %(return_event)s AND e.timestamp >= %(start)s AND e.timestamp < %(horizon)s "
            f"  AND e.timestamp >= c.first_at {where_e}"
            ") AS r WHERE k >= 0 AND k < %(periods)s GROUP BY cohort, k",
            params,
        )
        retained: dict[int, dict[int, int]] = {}
        for ordinal, k, count in cursor.fetchall():
            retained.setdefault(int(ordinal), {})[int(k)] = int(count)
        cursor.execute("DROP TABLE _retention_cohort")
    return {int(key): value for key, value in sizes.items()}, retained
