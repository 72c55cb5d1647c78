"""Ordered funnels, computed set-based: SQL on PostgreSQL, a vectorised pandas path elsewhere (SQLite).

Semantics (DESIGN.md, "Metric semantics"), for steps s0…sn, window W days and local dates D1…D2:

- a customer enters at their earliest s0 event in [D1 00:00, D2+1 00:00) local time (TIME_ZONE);
- step k matches their earliest sk event strictly later than the event matched at step k−1 and no later
  than entry + W×24h (it may fall after D2); a repeated step name needs its own event (strictly later);
- ``count`` of step k = customers who matched steps 0…k; conversions are ratios of counts, 0 where the
  denominator is 0; step 0 converts from itself (1.0 when anyone entered);
- time to convert is from the matched event of step k−1 to that of step k, over the customers who
  converted (``None`` for step 0 or when nobody converted); median as the mean of the two middle values
  for an even count; seconds rounded to milliseconds;
- ``property_filter=(name, value)`` (optional): only s0 events whose property ``name`` is the text ``value``
  can be entry events (e.g. a merchant's funnel: view_merchant with merchant_id = its code); later steps are
  unfiltered unless ``filter_every_step`` — then every step needs an event with that property value (the funnel
  of one merchant: viewed it, put its goods in the cart, paid it);
- ``breakdown="channel"``: the ``channel`` of the entry event, ``"(none)"`` when it has none. When several
  s0 events tie on the earliest timestamp the first stored one (lowest id) is the entry event.
  Breakdown rows are ordered by entrants (most first), then by value.

Both paths answer identically; the property tests in ``tests/analytics`` hold them against a brute-force
reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from analytics.models import Event
from analytics.services.columns import columns_coverage, columns_fit, columns_read, consistent_read, us_2000
from analytics.services.filters import events_restricted, restricted, where_sql
from analytics.services.periods import epoch_us, moment_us
from ops_platform.core.periods import local_day_start

NO_CHANNEL = "(none)"
BREAKDOWNS = ("channel",)
MAX_STEPS = 10
MIN_STEPS = 2
MAX_WINDOW_DAYS = 365
# Memory for sorts inside a report's transaction only: at 10M events the medians' sorts (a million values per step)
# would otherwise spill to disk at the 4 MB default.
WORK_MEM = "256MB"


@dataclass(frozen=True)
class FunnelQuery:
    steps: tuple[str, ...]
    window_days: int
    date_from: date
    date_to: date
    breakdown: str | None = None
    property_filter: tuple[str, str] | None = None
    filter_every_step: bool = False
    # ``where`` filters and a people restriction (analytics/services/filters.py): on every step's events
    where: tuple = ()
    people: object = None
    exclude_people: object = None

    @property
    def restricted(self) -> bool:
        return restricted(where=self.where, people=self.people, exclude_people=self.exclude_people)

    def restriction_sql(self) -> tuple[str, list]:
        return where_sql(self.where, people=self.people, exclude_people=self.exclude_people)

    @property
    def step_filter(self) -> tuple[str, str] | None:
        """The property filter of steps 1…n (None: unfiltered)."""
        return self.property_filter if self.filter_every_step else None

    @property
    def start(self) -> datetime:
        return local_day_start(self.date_from)

    @property
    def end(self) -> datetime:
        """Exclusive end of the entry range: the local midnight after ``date_to``."""
        return local_day_start(self.date_to + timedelta(days=1))

    @property
    def last_deadline(self) -> datetime:
        """The latest instant a step can match: the end of the entry range + W×24 h (in UTC: across a daylight-saving
        change a local ``+ W days`` would be an hour short or long)."""
        return self.end.astimezone(UTC) + self.window

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


def funnel_compute(*, steps: list[str] | tuple[str, ...], window_days: int, date_from: date, date_to: date,
                   breakdown: str | None = None, engine: str | None = None,
                   property_filter: tuple[str, str] | None = None, filter_every_step: bool = False,
                   where=(), people=None, exclude_people=None) -> dict:
    """The funnel of ``steps`` (contract in DESIGN.md): ``{"steps": [...]}`` plus ``"breakdown"`` when asked.

    ``engine`` is ``"columns"`` or ``"sql"`` (PostgreSQL only), or ``"pandas"``; by default ``_default_engine``.
    """
    if breakdown not in (None, *BREAKDOWNS):
        raise ValueError(f"unknown breakdown {breakdown!r}")
    query = FunnelQuery(steps=tuple(steps), window_days=window_days, date_from=date_from, date_to=date_to,
                        breakdown=breakdown,
                        property_filter=(str(property_filter[0]), str(property_filter[1])) if property_filter else None,
                        filter_every_step=filter_every_step, where=tuple(where), people=people,
                        exclude_people=exclude_people)
    engine = engine or _default_engine(query)
    if engine == "columns":
        groups = _groups_pandas(_paths_columns(query), query)
    elif engine == "sql":
        groups = _groups_sql(query)
    else:
        groups = _groups_pandas(_paths_pandas(query), query)
    result = {"steps": _step_rows(query, groups.pop(None, None))}
    if breakdown:
        ordered = sorted(groups.items(), key=lambda item: (-item[1].counts[0], item[0]))
        result["breakdown"] = [{"value": value, "steps": _step_rows(query, stats)} for value, stats in ordered]
    return result


@dataclass(frozen=True)
class StepStats:
    """For one group of entrants: customers per step, and per step k ≥ 1 the median and mean seconds from k−1."""

    counts: list[int]
    medians: list[float | None]
    means: list[float | None]


def _step_rows(query: FunnelQuery, stats: StepStats | None) -> list[dict]:
    n = len(query.steps)
    stats = stats or StepStats(counts=[0] * n, medians=[None] * n, means=[None] * n)
    counts = stats.counts
    return [{
        "event": name,
        "count": counts[k],
        "conversion_from_previous": _ratio(counts[k], counts[k - 1] if k else counts[0]),
        "conversion_from_first": _ratio(counts[k], counts[0]),
        "median_seconds_to_convert": _seconds(stats.medians[k]) if k and counts[k] else None,
        "avg_seconds_to_convert": _seconds(stats.means[k]) if k and counts[k] else None,
    } for k, name in enumerate(query.steps)]


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


# The pandas path: one row per entrant with the entry channel and the matched time of each step (NaN where not
# matched) in microseconds since the epoch (exact in float64), in columns t0…tn; then grouped stats.


def _columns(query: FunnelQuery) -> list[str]:
    return [f"t{k}" for k in range(len(query.steps))]


def _paths_pandas(query: FunnelQuery) -> pd.DataFrame:
    names = sorted(set(query.steps))
    rows = Event.objects.filter(event__in=names, timestamp__gte=query.start, timestamp__lte=query.last_deadline)
    if query.step_filter:  # every step filtered: read only the events with the property value
        rows = rows.alias(p=Cast(KeyTextTransform(query.step_filter[0], "properties"), TextField())).filter(
            p=query.step_filter[1])
    rows = events_restricted(rows, where=query.where, people=query.people, exclude_people=query.exclude_people)
    rows = rows.order_by().values_list("id", "person_id", "event", "timestamp", "channel")
    events = pd.DataFrame.from_records(list(rows), columns=["id", "person_id", "event", "timestamp", "channel"])
    columns = _columns(query)
    if events.empty:
        return pd.DataFrame(columns=["person_id", "channel", *columns])
    events["ts"] = epoch_us(events["timestamp"])
    start, end = moment_us(query.start), moment_us(query.end)
    window = query.window_days * 86_400_000_000

    entries = events[(events["event"] == query.steps[0]) & (events["ts"] >= start) & (events["ts"] < end)]
    if query.property_filter and not query.step_filter:
        name, value = query.property_filter
        allowed = (Event.objects.filter(event=query.steps[0], timestamp__gte=query.start, timestamp__lt=query.end)
                   .alias(p=Cast(KeyTextTransform(name, "properties"), TextField())).filter(p=value)
                   .values_list("id", flat=True))
        entries = entries[entries["id"].isin(set(allowed))]
    entries = entries.sort_values(["person_id", "ts", "id"]).drop_duplicates("person_id", keep="first")
    paths = entries[["person_id", "channel", "ts"]].rename(columns={"ts": "t0"}).reset_index(drop=True)
    current = paths[["person_id", "t0"]].rename(columns={"t0": "previous"})
    current["deadline"] = paths["t0"] + window
    for k, name in enumerate(query.steps[1:], start=1):
        candidates = events.loc[events["event"] == name, ["person_id", "ts"]]
        joined = current.merge(candidates, on="person_id")
        joined = joined[(joined["ts"] > joined["previous"]) & (joined["ts"] <= joined["deadline"])]
        matched = joined.groupby("person_id", sort=False).agg(ts=("ts", "min"), deadline=("deadline", "first"))
        matched = matched.reset_index()
        paths = paths.merge(matched[["person_id", "ts"]].rename(columns={"ts": f"t{k}"}), on="person_id", how="left")
        current = matched.rename(columns={"ts": "previous"})
    return paths


# The columns path (PostgreSQL): the step events come packed from the event columns (analytics/services/columns.py),
# a few hundred rows instead of millions of index tuples, and the ordered matching runs vectorised over slots indexed
# by person id: the entry is each person's earliest entry event (lowest id on a tie), each later step the earliest
# of its events strictly after the previous match and within the window (a scatter-min per step, no sort). The paths
# it gives are the pandas path's, and so are the statistics.
_NEVER = np.iinfo(np.int64).max


def _columns_range(query: FunnelQuery) -> tuple[datetime, datetime]:
    """The half-open range of instants a funnel reads: entry range start … last deadline (inclusive)."""
    return query.start, query.last_deadline + timedelta(microseconds=1)


def _default_engine(query: FunnelQuery) -> str:
    """pandas off PostgreSQL; there, the columns unless the funnel filters on a property (its index finds the few
    events it needs) or the range does not fit them (``columns_fit``)."""
    if connection.vendor != "postgresql":
        return "pandas"
    if query.property_filter or query.restricted:
        return "sql"
    lo, hi = _columns_range(query)
    return "columns" if columns_fit(lo=lo, hi=hi) else "sql"


def _paths_columns(query: FunnelQuery) -> pd.DataFrame:
    if query.property_filter or query.restricted:
        raise ValueError("the columns engine has no event properties: use the sql engine for a property filter")
    lo, hi = _columns_range(query)
    with consistent_read():
        read = columns_read(names=query.steps, coverage=columns_coverage(lo=lo, hi=hi), full=query.steps[:1])
    columns = _columns(query)
    # Each name's events are let go once no later step reads them (memory: about 30 bytes per event in the range).
    entries = read[query.steps[0]] if query.steps[0] in query.steps[1:] else read.pop(query.steps[0])
    entries = entries.where((entries.times >= us_2000(query.start)) & (entries.times < us_2000(query.end)))
    if not len(entries):
        return pd.DataFrame(columns=["person_id", "channel", *columns])
    base = int(entries.persons.min())
    size = int(entries.persons.max()) - base + 1
    slot = entries.persons - base
    entry_at = np.full(size, _NEVER)
    np.minimum.at(entry_at, slot, entries.times)
    tied = entries.times == entry_at[slot]
    entry_id = np.full(size, _NEVER)
    np.minimum.at(entry_id, slot[tied], entries.ids[tied])
    chosen = tied & (entries.ids == entry_id[slot])
    channel = np.zeros(size, np.int32)
    channel[slot[chosen]] = entries.codes[chosen]
    entered = entry_at != _NEVER
    deadline = np.where(entered, entry_at, 0) + query.window_days * 86_400_000_000
    matched, previous = [entry_at], entry_at  # _NEVER where not matched: no event is later than that
    for k, name in enumerate(query.steps[1:], start=1):
        events = read[name] if name in query.steps[k + 1:] else read.pop(name)
        slots, times = events.persons - base, events.times
        inside = (slots >= 0) & (slots < size)
        if not inside.all():  # people who entered nowhere in the range: only their events are copied out
            slots, times = slots[inside], times[inside]
        del events, inside
        hit = (times > previous[slots]) & (times <= deadline[slots])
        step_at = np.full(size, _NEVER)
        np.minimum.at(step_at, slots[hit], times[hit])
        matched.append(step_at)
        previous = step_at
    who = np.flatnonzero(entered)
    frame = {"person_id": who + base,
             "channel": pd.Categorical.from_codes(channel[who], categories=entries.channels)}
    for column, at in zip(columns, matched, strict=True):
        at = at[who]
        frame[column] = np.where(at == _NEVER, np.nan, at.astype(np.float64))
    return pd.DataFrame(frame)


# The PostgreSQL path: one statement, planned as a pipeline of merge joins over index order, run on parallel workers.
#
# For one range of person ids, the entrants come out of the covering index (event, person, timestamp, id, channel)
# already in person order (``DISTINCT ON`` keeps each person's earliest entry, ties by id); each later step is a
# merge left join of that stream with the step's own index slice in (person, time) order and a GroupAggregate by
# person keeping the earliest match — no hash of a million customers, no sort, no temporary table. The person ids are
# cut into ``PERSON_RANGES`` ranges whose pipelines are the branches of one UNION ALL, which PostgreSQL runs as a
# Parallel Append: each worker (and the leader) takes whole ranges. One aggregate over the gathered paths (one row per
# entrant) gives each step's count, median and mean (GROUPING SETS for the breakdown).
PERSON_RANGES = 6
PARALLEL_WORKERS = 2
# Settings for the report's transaction only (SET LOCAL). The planner's row estimates for chained aggregates are
# guesses (200 rows), so hash joins, nested-loop probes and hash aggregates are turned off: the merge pipeline is the
# right plan at every size. Parallel setup is costed low so the Append goes parallel; JIT costs more than it saves.
_PIPELINE_SETTINGS = {
    "jit": "off",
    "work_mem": WORK_MEM,
    "enable_hashjoin": "off",
    "enable_nestloop": "off",
    "enable_hashagg": "off",
    "enable_material": "off",
    "enable_bitmapscan": "off",
    "max_parallel_workers_per_gather": str(PARALLEL_WORKERS),
    # Parallelism only between the ranges (each range's pipeline in one process, in index order): no partial scans,
    # which at small sizes the planner would otherwise pick and then run the ranges one after another.
    "min_parallel_table_scan_size": "1TB",
    "min_parallel_index_scan_size": "1TB",
    "parallel_setup_cost": "100",
    "parallel_tuple_cost": "0.001",
}


def _pipeline_settings(cursor) -> None:
    """``_PIPELINE_SETTINGS`` for the current transaction only (like SET LOCAL), in one round trip."""
    cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(_PIPELINE_SETTINGS)),
                   [item for pair in _PIPELINE_SETTINGS.items() for item in pair])


_MAX_BIGINT = 2**63 - 1


def _person_ranges(cursor, parts: int) -> list[tuple[int, int]]:
    """``parts`` half-open ranges of person ids of about equal width (ids are assigned in order at ingestion); the
    first and the last are open-ended, so people created after this look-up are still counted."""
    cursor.execute("SELECT min(id), max(id) FROM analytics_person")
    low, high = cursor.fetchone()
    if low is None:
        return []
    bounds = sorted({low + (high + 1 - low) * i // parts for i in range(1, parts)})
    bounds = [b for b in bounds if low < b <= high]
    return list(zip([-_MAX_BIGINT, *bounds], [*bounds, _MAX_BIGINT], strict=True))


def _paths_sql(query: FunnelQuery, low: int, high: int) -> tuple[str, list]:
    """One row per entrant with a person id in [low, high): person_id, value (entry channel), t0 … tn (NULL from the
    first step not matched)."""
    condition, condition_params = query.restriction_sql() if query.restricted else ("TRUE", [])
    params: list = [NO_CHANNEL, query.steps[0], query.start, query.end, low, high, *(query.property_filter or ()),
                    *condition_params]
    sql = ("SELECT DISTINCT ON (person_id) person_id, timestamp AS t0, "
           'coalesce(nullif(channel, \'\'), %s) COLLATE "C" AS value '
           "FROM analytics_event WHERE event = %s AND timestamp >= %s AND timestamp < %s "
           "AND person_id >= %s AND person_id < %s "
           + ("AND properties ->> %s = %s " if query.property_filter else "")
           + f"AND {condition} "
           + "ORDER BY person_id, timestamp, id")
    carried = ["t0"]
    for k in range(1, len(query.steps)):
        keep = ", ".join(f"min(f.{column}) AS {column}" for column in carried)
        # The slice's ORDER BY lets the merge join read it in index order (without it the planner sorts it again).
        sql = (f"SELECT f.person_id, min(f.value) AS value, {keep}, min(e.ts) AS t{k} FROM ({sql}) AS f "  # noqa: S608
               "LEFT JOIN (SELECT person_id, timestamp AS ts FROM analytics_event "
               "WHERE event = %s AND timestamp > %s AND timestamp <= %s AND person_id >= %s AND person_id < %s "
               + ("AND properties ->> %s = %s " if query.step_filter else "")
               + f"AND {condition} "
               + "ORDER BY person_id, timestamp) AS e "
               f"ON e.person_id = f.person_id AND e.ts > f.t{k - 1} AND e.ts <= f.t0 + %s "
               "GROUP BY f.person_id")
        params += [query.steps[k], query.start, query.last_deadline, low, high, *(query.step_filter or ()),
                   *condition_params, query.window]
        carried.append(f"t{k}")
    return sql, params


def _groups_sql(query: FunnelQuery) -> dict[str | None, StepStats]:
    """Per group of entrants (all: key ``None``; per channel with the breakdown), counts, medians and means of each
    step, in one statement (see the notes above ``PERSON_RANGES``)."""
    n = len(query.steps)
    with transaction.atomic(), connection.cursor() as cursor:
        _pipeline_settings(cursor)
        ranges = _person_ranges(cursor, PERSON_RANGES)
        if not ranges:
            return {}
        branches, params = [], []
        for low, high in ranges:
            sql, branch_params = _paths_sql(query, low, high)
            branches.append(f"({sql})")
            params += branch_params
        # Microseconds between steps as bigint: date_part's double is exact to far below a microsecond for any
        # window (< 2^53 µs), and much cheaper than extract()'s numeric.
        columns = ["count(*), NULL::float8, NULL::numeric"] + [
            f"count(t{k}), percentile_cont(0.5) WITHIN GROUP (ORDER BY dt{k}), avg(dt{k})" for k in range(1, n)]
        deltas = ", ".join(f"round(date_part('epoch', t{k} - t{k - 1}) * 1000000)::bigint AS dt{k}"
                           for k in range(1, n))
        if query.breakdown:
            key, grouping = "CASE WHEN grouping(value) = 0 THEN value END", "GROUPING SETS ((), (value))"
        else:
            key, grouping = "NULL", "()"
        cursor.execute(
            f"SELECT {key}, {', '.join(columns)} FROM (SELECT value, {', '.join(f't{k}' for k in range(1, n))}, "  # noqa: S608
            f"{deltas} FROM ({' UNION ALL '.join(branches)}) AS paths) AS p GROUP BY {grouping}",
            params,
        )
        rows = cursor.fetchall()
    groups: dict[str | None, StepStats] = {}
    for value, *numbers in rows:
        if not numbers[0]:
            continue  # no entrant at all: the grand total of an empty set
        stats = StepStats(counts=[0] * n, medians=[None] * n, means=[None] * n)
        for k in range(n):
            count, median_us, mean_us = numbers[3 * k: 3 * k + 3]
            stats.counts[k] = int(count)
            stats.medians[k] = None if median_us is None else float(median_us) / 1e6  # microseconds from step k−1
            stats.means[k] = None if mean_us is None else float(mean_us) / 1e6
        groups[value] = stats
    return groups


def _groups_pandas(paths: pd.DataFrame, query: FunnelQuery) -> dict[str | None, StepStats]:
    """Stats of all entrants (key ``None``) and, with the breakdown, of each entry channel ("" reads ``NO_CHANNEL``)."""
    times = paths[_columns(query)].to_numpy(dtype="float64")
    groups = {None: _stats(times)}
    if query.breakdown == "channel" and len(paths):
        channel = paths["channel"]
        if not isinstance(channel.dtype, pd.CategoricalDtype):
            channel = channel.fillna("").astype(str).astype("category")
        labels = np.array([value or NO_CHANNEL for value in channel.cat.categories], dtype=object)
        codes = channel.cat.codes.to_numpy()
        for label in sorted(set(labels)):
            rows = np.isin(codes, np.flatnonzero(labels == label))
            if rows.any():  # a channel seen only on events that were nobody's entry is no group
                groups[label] = _stats(times[rows])
    return groups


def _stats(times: np.ndarray) -> StepStats:
    """Counts, medians and means of one group's paths: a row per entrant, a column per step with the matched time in
    microseconds (NaN from the first step not matched)."""
    n = times.shape[1]
    reached = np.logical_and.accumulate(~np.isnan(times), axis=1)
    counts = [int(count) for count in reached.sum(axis=0)]
    medians, means = [None] * n, [None] * n
    for k in range(1, n):
        if counts[k]:
            mask = reached[:, k]
            seconds = (times[mask, k] - times[mask, k - 1]) / 1e6
            medians[k], means[k] = float(np.median(seconds)), float(np.mean(seconds))
    return StepStats(counts=counts, medians=medians, means=means)
