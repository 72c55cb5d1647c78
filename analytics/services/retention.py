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
  period;
- ``retained[k]`` is ``None`` for a period that has not started by now (today, in TIME_ZONE: nobody can have come
  back yet, and 0 would read as a cliff); the period in progress holds its count so far;
- ``complete`` counts the cohort's periods k < N that have fully ended by now, so ``retained[k]`` is final exactly
  when ``k < complete``. ``retention_average`` weighs each period k over the cohorts whose period k is complete;
- ``breakdown="channel"`` or a property key K: each customer's value is the ``channel`` / the text of property K of
  their first-ever E1 event (that counts; ties on time: the first stored), ``"(none)"`` when missing, null or empty;
  the ``breakdown_limit`` values with the most customers (ties: the smaller value by code point) get their own
  cohorts, every other customer is in ``"(other)"``, last. The counts add up: the totals are the groups' sums.
  On PostgreSQL the event columns answer filters, segments and breakdowns too (reading the cohort event's whole
  history); only a merchant's retention (``property_filter``) runs in SQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Min, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from analytics.models import Event
from analytics.services.columns import (
    binary_cursor,
    columns_coverage,
    columns_fit,
    columns_read,
    consistent_read,
    us_2000,
)
from analytics.services.filters import (
    NONE_VALUE,
    OTHER_VALUE,
    JsonText,
    breakdown_labels,
    events_restricted,
    restricted,
    restricted_mask,
    top_values,
    where_keys,
    where_number_keys,
    where_sql,
)
from analytics.services.funnel import CHANNEL, PERSON_RANGES, _person_ranges, _pipeline_settings
from analytics.services.periods import (
    PERIODS,
    epoch_us,
    local_ordinals,
    moment_us,
    ordinal_first_day,
    period_add,
    period_first_day,
)
from ops_platform.core.periods import local_day_start, local_today, period_is_complete

DEFAULT_PERIODS = 8
MAX_PERIODS = 60


def retention_compute(*, cohort_event: str, return_event: str, period: str, date_from: date, date_to: date,
                      periods: int = DEFAULT_PERIODS, engine: str | None = None,
                      property_filter: tuple[str, str] | None = None, where=(), people=None,
                      exclude_people=None, breakdown: str | None = None, breakdown_limit: int = 10) -> dict:
    """``{"period", "cohorts": [{"cohort": "YYYY-MM-DD", "size", "retained": [N counts or None], "complete": m}]}``
    (DESIGN.md): ``None`` for periods not started by now, ``m`` the periods fully ended by now."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    start = local_day_start(date_from)
    end = local_day_start(date_to + timedelta(days=1))
    # No return event after the start of period N of the last possible cohort can count.
    horizon = local_day_start(period_add(period_first_day(date_to, period), period, periods))
    restriction = {"where": tuple(where), "people": people, "exclude_people": exclude_people}
    if not 1 <= breakdown_limit <= 25:
        raise ValueError("breakdown_limit is 1…25")
    engine = engine or _default_engine(cohort_event=cohort_event, return_event=return_event, start=start, end=end,
                                       horizon=horizon,
                                       property_filter=property_filter,
                                       from_facts=not (restricted(**restriction) or breakdown))
    compute = {"sql": _retention_sql, "columns": _retention_columns}.get(engine, _retention_pandas)
    extra = {"restriction": restriction} if restricted(**restriction) else {}
    if breakdown:
        extra["breakdown"] = breakdown
        if compute is _retention_columns:
            extra["breakdown_limit"] = breakdown_limit
    merchant = (str(property_filter[0]), str(property_filter[1])) if property_filter else None
    sizes, retained, *ranked = compute(cohort_event=cohort_event, return_event=return_event, period=period,
                                       start=start, end=end, horizon=horizon, periods=periods,
                                       property_filter=merchant, **extra)
    if not breakdown:
        return {"period": period, "cohorts": _cohort_rows(sizes, retained, period, periods)}
    # By value: sizes[value][ordinal], retained[value][ordinal][k]; counts add up, so "(other)" and the totals are sums.
    if ranked:  # the columns ranked the values and summed those past the top ones under _FOLDED
        keep, other = ranked[0]
        folded = [_FOLDED]
    else:
        keep, other = top_values({value: sum(cohorts.values()) for value, cohorts in sizes.items()}, breakdown_limit)
        folded = [value for value in sizes if value not in keep]
    groups = [(value, [value]) for value in keep]
    if other:
        groups.append((OTHER_VALUE, folded))
    groups.insert(0, (None, list(sizes)))
    rows = {}
    for key, values in groups:
        group_sizes: dict[int, int] = {}
        group_retained: dict[int, dict[int, int]] = {}
        for value in values:
            for ordinal, count in sizes[value].items():
                group_sizes[ordinal] = group_sizes.get(ordinal, 0) + count
            for ordinal, by_k in retained.get(value, {}).items():
                row = group_retained.setdefault(ordinal, {})
                for k, count in by_k.items():
                    row[k] = row.get(k, 0) + count
        rows[key] = _cohort_rows(group_sizes, group_retained, period, periods)
    return {"period": period, "cohorts": rows.pop(None),
            "breakdown": [{"value": value, "cohorts": cohorts} for value, cohorts in rows.items()]}


def _cohort_rows(sizes: dict, retained: dict, period: str, periods: int) -> list[dict]:
    today = local_today()
    cohorts = []
    for ordinal in sorted(sizes):
        row = retained.get(ordinal, {})
        first = ordinal_first_day(ordinal, period)
        starts = [period_add(first, period, k) for k in range(periods)]
        cohorts.append({
            "cohort": first.isoformat(),
            "size": int(sizes[ordinal]),
            "retained": [int(row.get(k, 0)) if starts[k] <= today else None for k in range(periods)],
            "complete": sum(period_is_complete(start, period, today=today) for start in starts),
        })
    return cohorts


def retention_average(result: dict) -> list[dict]:
    """Per period k, the share retained over the cohorts whose period k is complete, weighted by their size:
    ``[{"k", "share" (None when no cohort's period k is complete), "retained", "customers", "cohorts"}]``.
    The cohorts in progress are left out of period k, so a young cohort never drags the average down."""
    cohorts = result.get("cohorts", [])
    width = max((len(cohort["retained"]) for cohort in cohorts), default=0)
    average = []
    for k in range(width):
        counted = [cohort for cohort in cohorts if k < cohort.get("complete", 0) and k < len(cohort["retained"])]
        kept, customers = sum(c["retained"][k] for c in counted), sum(c["size"] for c in counted)
        average.append({"k": k, "share": kept / customers if customers else None, "retained": kept,
                        "customers": customers, "cohorts": len(counted)})
    return average


def _default_engine(*, cohort_event, return_event, start, end, horizon, property_filter, from_facts: bool) -> str:
    """pandas off PostgreSQL; there, SQL for a merchant's retention (``property_filter``: its index finds its events)
    and the event columns otherwise when what they read fits them (``columns_fit``): the return events' range, and
    unless the cohorts come from the first-touch facts, the cohort event's whole history up to the range's end."""
    if connection.vendor != "postgresql":
        return "pandas"
    if property_filter or not columns_fit(lo=start, hi=horizon, names=[return_event]):
        return "sql"
    if from_facts and cohort_event in _FIRST_FACT:
        return "columns"
    first = _first_moment(cohort_event)
    return ("columns" if first is None or first >= end
            or columns_fit(lo=min(first, start), hi=end, names=[cohort_event]) else "sql")


def _first_moment(event: str):
    """The time of the earliest stored ``event`` (None when there is none): where a cohort's history starts."""
    return Event.objects.filter(event=event).aggregate(first=Min("timestamp"))["first"]


def _filtered(events, property_filter, restriction=None):
    if restriction:
        events = events_restricted(events, **restriction)
    if not property_filter:
        return events
    return events.alias(p=Cast(KeyTextTransform(property_filter[0], "properties"), TextField())).filter(
        p=property_filter[1])


def _retention_pandas(*, cohort_event, return_event, period, start, end, horizon, periods, property_filter=None,
                      restriction=None, breakdown=None):
    cohort_events = _filtered(Event.objects.filter(event=cohort_event), property_filter, restriction)
    if breakdown:  # each person's first cohort event (the first stored on a tie) and its value
        value = "channel" if breakdown == "channel" else "_v"
        rows = (cohort_events.annotate(_v=JsonText(breakdown)) if value == "_v" else cohort_events).order_by()
        firsts = pd.DataFrame.from_records(list(rows.values_list("person_id", "timestamp", "id", value)),
                                           columns=["person_id", "first", "id", "value"])
        firsts = firsts.sort_values(["person_id", "first", "id"]).drop_duplicates("person_id", keep="first")
        # (a column of nothing but missing values arrives as NaN)
        firsts["value"] = [NONE_VALUE if v is None or v == "" or v != v else str(v) for v in firsts["value"]]
    else:
        firsts = pd.DataFrame.from_records(
            list(cohort_events.order_by().values("person_id")
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
    if not breakdown:
        cohort["value"] = None
    # Per (value, cohort) without a breakdown the value is None: one group.
    sizes: dict = {}
    for (value, ordinal), count in cohort.groupby(["value", "cohort"], dropna=False).size().items():
        sizes.setdefault(None if pd.isna(value) else value, {})[int(ordinal)] = int(count)
    retained: dict = {}
    returns = pd.DataFrame.from_records(
        list(_filtered(Event.objects.filter(event=return_event, timestamp__gte=start, timestamp__lt=horizon),
                       property_filter, restriction).order_by().values_list("person_id", "timestamp")),
        columns=["person_id", "timestamp"],
    )
    if not returns.empty:
        returns["ts"] = epoch_us(returns["timestamp"])
        joined = returns[["person_id", "ts"]].merge(cohort[["person_id", "first_us", "cohort", "value"]],
                                                    on="person_id")
        joined = joined[joined["ts"] >= joined["first_us"]]
        joined = joined.assign(k=local_ordinals(joined["ts"].to_numpy(), period) - joined["cohort"].to_numpy())
        joined = joined[(joined["k"] >= 0) & (joined["k"] < periods)]
        counts = joined.drop_duplicates(["person_id", "k"]).groupby(["value", "cohort", "k"], dropna=False).size()
        for (value, ordinal, k), count in counts.items():
            retained.setdefault(None if pd.isna(value) else value, {}).setdefault(int(ordinal), {})[int(k)] = int(count)
    if breakdown:
        return sizes, retained
    return sizes.get(None, {}), retained.get(None, {})


def _period_starts(start, horizon, period: str) -> tuple[list, int]:
    """The aware local starts of the periods from the one holding ``start`` up to (not including) ``horizon``, and
    the ordinal of the first: ``width_bucket`` over them gives an instant's period without a time-zone conversion
    per row (``AT TIME ZONE`` costs microseconds per row, the binary search a fraction)."""
    day = period_first_day(timezone.localtime(start).date(), period)
    first = int(local_ordinals(np.array([moment_us(local_day_start(day))]), period)[0])
    starts = []
    while (moment := local_day_start(day)) < horizon:
        starts.append(moment)
        day = period_add(day, period, 1)
    return starts, first


# Each person's first-ever cohort event: from the first-touch facts kept at ingestion (analytics/services/facts.py)
# when the event is one of theirs — a million rows instead of every cohort event — else from the events themselves.
_FIRST_FACT = {"visit": "first_visit_at", "signup": "first_signup_at", "order_paid": "first_order_at"}
_FACTS_SQL = ("SELECT person_id, {column} AS first_at FROM analytics_personfacts "
              "WHERE person_id >= %s AND person_id < %s AND {column} IS NOT NULL ORDER BY person_id")
_FIRSTS_SQL = ("SELECT person_id, min(timestamp) AS first_at FROM analytics_event "
               "WHERE event = %s AND person_id >= %s AND person_id < %s{where} GROUP BY person_id")
# With a breakdown: each person's first cohort event itself (the first stored on a tie), for its value.
_FIRST_EVENTS_SQL = ("SELECT DISTINCT ON (person_id) person_id, timestamp AS first_at, {value} AS value "
                     "FROM analytics_event WHERE event = %s AND person_id >= %s AND person_id < %s{where} "
                     "ORDER BY person_id, timestamp, id")


def _retention_sql(*, cohort_event, return_event, period, start, end, horizon, periods, property_filter=None,
                   restriction=None, breakdown=None):
    """One statement, the funnel's plan (analytics/services/funnel.py, ``PERSON_RANGES``): per range of person ids,
    each person's first-ever cohort event from the covering index in person order (GroupAggregate), a merge left join
    with the return events' slice in the same order, and per person a bit mask of the periods k they came back in;
    the ranges run as a Parallel Append, then one small aggregate counts people per (cohort, mask). Periods are
    numbered by ``width_bucket`` over the local period starts (``_period_starts``)."""
    starts, first_ordinal = _period_starts(start, horizon, period)
    where = " AND properties ->> %s = %s" if property_filter else ""
    condition, condition_params = where_sql(**restriction) if restriction else ("", [])
    where = where + (f" AND {condition}" if restriction else "")
    fact = None if (property_filter or restriction or breakdown) else _FIRST_FACT.get(cohort_event)
    firsts = _FACTS_SQL.format(column=fact) if fact else _FIRSTS_SQL.format(where=where)
    value_params = []
    if breakdown:
        value = "coalesce(nullif(channel, ''), %s)" if breakdown == "channel" else \
            "coalesce(nullif(properties ->> %s, ''), %s)"
        value_params = [NONE_VALUE] if breakdown == "channel" else [breakdown, NONE_VALUE]
        firsts = _FIRST_EVENTS_SQL.format(value=value, where=where)
    branches, params = [], []
    with transaction.atomic(), connection.cursor() as cursor:
        _pipeline_settings(cursor)
        for low, high in _person_ranges(cursor, PERSON_RANGES):
            branches.append(
                # k ≥ 0 always (a return at or after the first cohort event); periods at or past ``periods`` are set
                # as bit 63 at most and never read. Every instant here is in [starts[0], horizon): buckets 1…len.
                "(SELECT c.person_id, min(c.cohort) AS cohort, "  # noqa: S608
                + ("min(c.value) AS value, " if breakdown else "NULL::text AS value, ")
                + "bit_or(1::bigint << least(width_bucket(e.ts, %s::timestamptz[]) - c.cohort, 63)) AS mask FROM ("
                "  SELECT f.person_id, f.first_at, "
                + ("f.value, " if breakdown else "")
                + "width_bucket(f.first_at, %s::timestamptz[]) AS cohort FROM ("  # noqa: S608
                f"{firsts}) AS f WHERE f.first_at >= %s AND f.first_at < %s) AS c "
                "LEFT JOIN (SELECT person_id, timestamp AS ts FROM analytics_event WHERE event = %s "
                f"  AND timestamp >= %s AND timestamp < %s AND person_id >= %s AND person_id < %s{where} "
                "  ORDER BY person_id, timestamp) AS e ON e.person_id = c.person_id AND e.ts >= c.first_at "
                "GROUP BY c.person_id)"
            )
            params += [starts, starts, *value_params, *(() if fact else (cohort_event,)), low, high,
                       *(() if fact else (*(property_filter or ()), *condition_params)), start, end,
                       return_event, start, horizon, low, high, *(property_filter or ()), *condition_params]
        if not branches:
            return {}, {}
        cursor.execute(
            f"SELECT value, cohort, coalesce(mask, 0), count(*) FROM ({' UNION ALL '.join(branches)}) AS people "  # noqa: S608
            "GROUP BY value, cohort, mask",
            params,
        )
        rows = cursor.fetchall()
    by_value: dict = {}
    for value, bucket, mask, count in rows:
        sizes, retained = by_value.setdefault(value, ({}, {}))
        ordinal = first_ordinal + bucket - 1
        sizes[int(ordinal)] = sizes.get(int(ordinal), 0) + int(count)
        row = retained.setdefault(int(ordinal), {})
        for k in range(periods):
            if mask >> k & 1:
                row[k] = row.get(k, 0) + int(count)
    if breakdown:
        return ({value: sizes for value, (sizes, _retained) in by_value.items()},
                {value: retained for value, (_sizes, retained) in by_value.items()})
    return by_value.get(None, ({}, {}))


_FOLDED = object()  # the values past a breakdown's top ones, summed by the columns engine


def _retention_columns(*, cohort_event, return_event, period, start, end, horizon, periods, property_filter=None,
                       restriction=None, breakdown=None, breakdown_limit=10):
    """The cohorts from the first-touch facts — or, with filters, a segment or a breakdown, from the cohort event's
    columns over its whole history (each person's first event that passes; ties: the lowest id) — the return events
    from the event columns and, per person, a bit mask of the periods k they came back in (a scatter-or), then
    counts per (breakdown value, cohort, k) by ``bincount``. With a breakdown, the values are ranked here (the top
    ``breakdown_limit`` by cohort size, ``top_values``) and the rest summed under ``_FOLDED``, returned with the
    ranking: a property of 10,000 values makes 11 groups of dictionaries, not 10,000."""
    if property_filter:
        raise ValueError("the columns engine has no merchant filter: use the sql engine for property_filter")
    restriction = restriction or {}
    where = restriction.get("where", ())
    keys = where_keys(where)
    with consistent_read():
        if not restriction and not breakdown and cohort_event in _FIRST_FACT:
            persons, firsts = _facts_firsts(cohort_event, start, end)
            values, value_names = np.zeros(len(persons), np.int64), [None]
        else:
            persons, firsts, values, value_names = _columns_firsts(cohort_event, start, end, restriction, breakdown)
        if not len(persons):  # nobody's cohort event in the range: no return event can count
            return {}, {}
        returns = columns_read(names=[return_event], coverage=columns_coverage(lo=start, hi=horizon),
                               properties={return_event: keys},
                               numbers={return_event: where_number_keys(where)})[return_event]
    if restriction:
        returns = returns.where(restricted_mask(returns, **restriction))
    starts, first_ordinal = _period_starts(start, horizon, period)
    bounds = np.array([us_2000(moment) for moment in starts], np.int64)
    base, size = int(persons.min()), int(persons.max() - persons.min()) + 1
    first_at = np.full(size, np.iinfo(np.int64).max)
    first_at[persons - base] = firsts
    cohort = np.zeros(size, np.int64)  # 1-based period of the first cohort event, 0: not in a cohort
    cohort[persons - base] = np.searchsorted(bounds, firsts, side="right")
    value_of = np.zeros(size, np.int64)
    value_of[persons - base] = values

    inside = (returns.persons >= base) & (returns.persons < base + size)
    slots, times = returns.persons[inside] - base, returns.times[inside]
    back = times >= first_at[slots]  # at or after their first cohort event (people outside the cohorts: never)
    slots, times = slots[back], times[back]
    k = np.searchsorted(bounds, times, side="right") - cohort[slots]
    keep = k < periods
    mask = np.zeros(size, np.uint64)
    np.bitwise_or.at(mask, slots[keep], np.left_shift(np.uint64(1), k[keep].astype(np.uint64)))

    members = cohort > 0
    ranked = None
    if breakdown:
        per_value = np.bincount(value_of[members], minlength=len(value_names))
        ranked = top_values({value_names[i]: int(per_value[i]) for i in np.flatnonzero(per_value)}, breakdown_limit)
        position = {name: i for i, name in enumerate(ranked[0])}
        value_of = np.array([position.get(name, len(ranked[0])) for name in value_names], np.int64)[value_of]
        value_names = [*ranked[0], _FOLDED]
    buckets = len(bounds) + 1
    group = value_of[members] * buckets + cohort[members]  # (value, 1-based cohort period)
    groups = len(value_names) * buckets
    member_masks = mask[members]
    sizes_by_group = np.bincount(group, minlength=groups)
    retained_by_group = [np.bincount(group[(member_masks >> np.uint64(k_value)) & np.uint64(1) == 1],
                                     minlength=groups) for k_value in range(periods)]
    sizes: dict = {}
    retained: dict = {}
    for index in np.flatnonzero(sizes_by_group):
        value, bucket = value_names[index // buckets], index % buckets
        ordinal = first_ordinal + int(bucket) - 1
        sizes.setdefault(value, {})[ordinal] = int(sizes_by_group[index])
        row = retained.setdefault(value, {}).setdefault(ordinal, {})
        for k_value in range(periods):
            if retained_by_group[k_value][index]:
                row[k_value] = int(retained_by_group[k_value][index])
    if breakdown:
        return sizes, retained, ranked
    return sizes.get(None, {}), retained.get(None, {})


def _facts_firsts(cohort_event: str, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Person ids and first cohort event times (µs since 2000) of the first-touch facts in [start, end)."""
    column = _FIRST_FACT[cohort_event]
    with connection.wrap_database_errors, binary_cursor() as cursor:
        cursor.execute(
            f"SELECT string_agg(int8send(person_id), ''), string_agg(timestamptz_send({column}), '') "  # noqa: S608
            f"FROM analytics_personfacts WHERE {column} >= %s AND {column} < %s",
            [start, end], binary=True,
        )
        person_bytes, first_bytes = cursor.fetchone()
    if not person_bytes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.frombuffer(person_bytes, ">i8").astype(np.int64), np.frombuffer(first_bytes, ">i8").astype(np.int64)


def _columns_firsts(cohort_event: str, start, end, restriction: dict, breakdown: str | None):
    """Each person's first ``cohort_event`` over all history that passes the restriction (ties: the lowest id), for
    the persons whose first falls in [start, end): person ids, first times (µs since 2000), their breakdown value as a
    code into the returned names (None without a breakdown)."""
    nothing = np.empty(0, np.int64)
    first = _first_moment(cohort_event)
    if first is None or first >= end:
        return nothing, nothing, nothing, [None]
    keys = [*where_keys(restriction.get("where", ())), *([breakdown] if breakdown not in (None, CHANNEL) else [])]
    events = columns_read(names=[cohort_event], coverage=columns_coverage(lo=min(first, start), hi=end),
                          full=[cohort_event] if breakdown else [], properties={cohort_event: keys},
                          numbers={cohort_event: where_number_keys(restriction.get("where", ()))})[cohort_event]
    if restriction:
        events = events.where(restricted_mask(events, **restriction))
    if not len(events):
        return nothing, nothing, nothing, [None]
    base = int(events.persons.min())
    size = int(events.persons.max()) - base + 1
    slot = events.persons - base
    first_at = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(first_at, slot, events.times)
    who = np.flatnonzero((first_at != np.iinfo(np.int64).max) & (first_at >= us_2000(start)))
    if not breakdown:
        return who + base, first_at[who], np.zeros(len(who), np.int64), [None]
    tied = events.times == first_at[slot]
    first_id = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(first_id, slot[tied], events.ids[tied])
    chosen = tied & (events.ids == first_id[slot])
    if breakdown == CHANNEL:
        texts, codes = list(events.channels), events.codes
    else:
        column = events.properties[breakdown]
        texts, codes = column.texts, column.codes
    of_entry, names = breakdown_labels(texts)
    value = np.zeros(size, np.int64)
    value[slot[chosen]] = of_entry[codes[chosen]]
    return who + base, first_at[who], value[who], names
