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
- ``breakdown="channel"``: the ``channel`` of the entry event, ``"(none)"`` when it has none. When several
  s0 events tie on the earliest timestamp the first stored one (lowest id) is the entry event.
  Breakdown rows are ordered by entrants (most first), then by value.

Both paths answer identically; the property tests in ``tests/analytics`` hold them against a brute-force
reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction

from analytics.models import Event
from analytics.services.periods import epoch_us, local_day_start, moment_us

NO_CHANNEL = "(none)"
BREAKDOWNS = ("channel",)
MAX_STEPS = 10
MIN_STEPS = 2
MAX_WINDOW_DAYS = 365


@dataclass(frozen=True)
class FunnelQuery:
    steps: tuple[str, ...]
    window_days: int
    date_from: date
    date_to: date
    breakdown: str | None = None

    @property
    def start(self) -> datetime:
        return local_day_start(self.date_from)

    @property
    def end(self) -> datetime:
        """Exclusive end of the entry range: the local midnight after ``date_to``."""
        return local_day_start(self.date_to + timedelta(days=1))

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


def funnel_compute(*, steps: list[str] | tuple[str, ...], window_days: int, date_from: date, date_to: date,
                   breakdown: str | None = None, engine: str | None = None) -> dict:
    """The funnel of ``steps`` (contract in DESIGN.md): ``{"steps": [...]}`` plus ``"breakdown"`` when asked.

    ``engine`` is ``"sql"`` (PostgreSQL only) or ``"pandas"``; by default SQL on PostgreSQL, pandas elsewhere.
    """
    if breakdown not in (None, *BREAKDOWNS):
        raise ValueError(f"unknown breakdown {breakdown!r}")
    query = FunnelQuery(steps=tuple(steps), window_days=window_days, date_from=date_from, date_to=date_to,
                        breakdown=breakdown)
    engine = engine or ("sql" if connection.vendor == "postgresql" else "pandas")
    frame = _paths_sql(query) if engine == "sql" else _paths_pandas(query)
    return _summarise(frame, query)


# What both engines produce: one row per entrant with the entry channel and the matched time of each step
# (NaN where not matched) in microseconds since the epoch (exact in float64), in columns t0…tn.


def _columns(query: FunnelQuery) -> list[str]:
    return [f"t{k}" for k in range(len(query.steps))]


def _paths_pandas(query: FunnelQuery) -> pd.DataFrame:
    names = sorted(set(query.steps))
    rows = (Event.objects.filter(event__in=names, timestamp__gte=query.start, timestamp__lte=query.end + query.window)
            .order_by().values_list("id", "person_id", "event", "timestamp", "channel"))
    events = pd.DataFrame.from_records(list(rows), columns=["id", "person_id", "event", "timestamp", "channel"])
    columns = _columns(query)
    if events.empty:
        return pd.DataFrame(columns=["person_id", "channel", *columns])
    events["ts"] = epoch_us(events["timestamp"])
    start, end = moment_us(query.start), moment_us(query.end)
    window = query.window_days * 86_400_000_000

    entries = events[(events["event"] == query.steps[0]) & (events["ts"] >= start) & (events["ts"] < end)]
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


def _paths_sql(query: FunnelQuery) -> pd.DataFrame:
    """Chained per-step temporary tables, each ``min(timestamp)`` over a hash join on one event's slice.

    Temporary tables with ``ANALYZE`` give the planner true row counts (a CTE's estimate can be far off),
    and JIT is off: it costs more than it saves on these queries.
    """
    n = len(query.steps)
    last_ts = query.end + query.window
    epoch = "(extract(epoch FROM {col}) * 1000000)::bigint"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        for k in range(n):
            cursor.execute(f"DROP TABLE IF EXISTS _funnel_{k}")
        cursor.execute(
            "CREATE TEMPORARY TABLE _funnel_0 ON COMMIT DROP AS "
            "SELECT DISTINCT ON (person_id) person_id, timestamp AS t0, timestamp AS tk, channel "
            "FROM analytics_event WHERE event = %s AND timestamp >= %s AND timestamp < %s "
            "ORDER BY person_id, timestamp, id",
            [query.steps[0], query.start, query.end],
        )
        cursor.execute("ANALYZE _funnel_0")
        for k in range(1, n):
            cursor.execute(
                f"CREATE TEMPORARY TABLE _funnel_{k} ON COMMIT DROP AS "  # noqa: S608 (only step numbers)
                f"SELECT f.person_id, min(f.t0) AS t0, min(e.timestamp) AS tk "
                f"FROM _funnel_{k - 1} AS f JOIN analytics_event AS e ON e.person_id = f.person_id "
                f"WHERE e.event = %s AND e.timestamp > %s AND e.timestamp <= %s "
                f"AND e.timestamp > f.tk AND e.timestamp <= f.t0 + %s "
                f"GROUP BY f.person_id",
                [query.steps[k], query.start, last_ts, query.window],
            )
            cursor.execute(f"ANALYZE _funnel_{k}")
        selects = ", ".join(f"{epoch.format(col=f'f{k}.tk')} AS t{k}" for k in range(n))
        joins = " ".join(f"LEFT JOIN _funnel_{k} AS f{k} ON f{k}.person_id = f0.person_id" for k in range(1, n))
        cursor.execute(f"SELECT f0.person_id, f0.channel, {selects} FROM _funnel_0 AS f0 {joins}")  # noqa: S608
        frame = pd.DataFrame(cursor.fetchall(), columns=["person_id", "channel", *_columns(query)])
        for k in range(n):
            cursor.execute(f"DROP TABLE _funnel_{k}")
    return frame


def _summarise(paths: pd.DataFrame, query: FunnelQuery) -> dict:
    result = {"steps": _steps(paths, query)}
    if query.breakdown == "channel":
        channel = paths["channel"].fillna("").astype(str).replace("", NO_CHANNEL)
        groups = [(value, paths[channel == value]) for value in sorted(channel.unique())]
        groups.sort(key=lambda group: -len(group[1]))  # stable: ties keep the value order
        result["breakdown"] = [{"value": value, "steps": _steps(group, query)} for value, group in groups]
    return result


def _steps(paths: pd.DataFrame, query: FunnelQuery) -> list[dict]:
    columns = _columns(query)
    matched = paths[columns].notna().to_numpy() if len(paths) else np.zeros((0, len(columns)), bool)
    reached = np.logical_and.accumulate(matched, axis=1) if len(paths) else matched
    counts = [int(reached[:, k].sum()) for k in range(len(columns))]
    steps = []
    for k, name in enumerate(query.steps):
        seconds = None
        if k > 0 and counts[k]:
            mask = reached[:, k]
            delta = (paths[columns[k]].to_numpy(dtype="float64")[mask]
                     - paths[columns[k - 1]].to_numpy(dtype="float64")[mask])
            seconds = delta / 1e6
        steps.append({
            "event": name,
            "count": counts[k],
            "conversion_from_previous": _ratio(counts[k], counts[k - 1] if k else counts[0]),
            "conversion_from_first": _ratio(counts[k], counts[0]),
            "median_seconds_to_convert": None if seconds is None else round(float(np.median(seconds)), 3),
            "avg_seconds_to_convert": None if seconds is None else round(float(np.mean(seconds)), 3),
        })
    return steps


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0
