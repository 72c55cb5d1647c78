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
- ``breakdown="channel"``: the ``channel`` of the entry event, ``"(none)"`` when it has none; any other
  ``breakdown=K``: the text of the entry event's property K (filters.py's ``JsonText``), ``"(none)"`` when missing,
  null or empty. When several s0 events tie on the earliest timestamp the first stored one (lowest id) is the entry
  event. The ``breakdown_limit`` values with the most entrants are kept, ordered by entrants (most first), then by
  value (code point); the other entrants form one ``"(other)"`` row, last;
- options (README, "Analytics: what the numbers mean", the funnel entry, has their exact rules):
  ``step_windows`` (seconds per step k ≥ 1, None for none): step k must also be at most step k−1's match + w_k;
  ``exclusions`` ((event, a, b), 0-based steps): after matching, a customer with such an event strictly between
  step a's match and step b's (or, step b unmatched, up to entry + W inclusive) counts at steps 0…a only;
  ``value_property``: per step the sum and mean of the property (JSON numbers) on the event matched at that step
  (ties on time: the lowest id), over the customers counted there.

Engines: on PostgreSQL the columns path (the event columns carry every property, dictionary-encoded) answers
``where=``, segments, a property breakdown and ``value_property`` too; only the merchant filter (``property_filter``,
whose expression index finds a merchant's few events) runs in SQL. Step windows and exclusions run on all three
engines.

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
from analytics.services.filters import (
    NONE_VALUE,
    OTHER_VALUE,
    JsonNumber,
    JsonText,
    events_restricted,
    restricted,
    restricted_mask,
    top_values,
    where_keys,
    where_number_keys,
    where_sql,
)
from analytics.services.periods import epoch_us, moment_us
from ops_platform.core import clock
from ops_platform.core.periods import local_day_start

NO_CHANNEL = NONE_VALUE
CHANNEL = "channel"
MAX_STEPS = 10
MAX_EXCLUSIONS = 5
VALUE_DECIMALS = 6
MIN_STEPS = 2
MAX_WINDOW_DAYS = 365
_MICROSECOND = timedelta(microseconds=1)
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
    breakdown_limit: int = 10
    step_windows: tuple = ()  # seconds (or None) for steps 1…n, () for none
    exclusions: tuple = ()  # (event, a, b), 0-based steps, a < b
    value_property: str | None = None
    # The instant the funnel is read at, and whether only entrants whose window has closed by then count.
    now: datetime | None = None
    closed_only: bool = False

    @property
    def property_breakdown(self) -> str | None:
        """The property key the funnel breaks down by (None: no breakdown, or the channel)."""
        return self.breakdown if self.breakdown not in (None, CHANNEL) else None

    def step_window(self, k: int) -> timedelta | None:
        """Step k's own window from step k−1's match (k ≥ 1), None for none."""
        seconds = self.step_windows[k - 1] if k - 1 < len(self.step_windows) else None
        return None if seconds is None else timedelta(seconds=seconds)

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
        """Exclusive end of the entry range: the local midnight after ``date_to``; with ``closed_only`` no later than
        just after ``window_closed_before`` (a customer's earliest entry event up to it is their earliest in the whole
        range, so cutting the range keeps exactly the entrants whose window has closed)."""
        end = self.range_end
        return max(min(end, self.window_closed_before + _MICROSECOND), self.start) if self.closed_only else end

    @property
    def range_end(self) -> datetime:
        return local_day_start(self.date_to + timedelta(days=1))

    @property
    def window_closed_before(self) -> datetime:
        """An entrant at or before this instant has had their whole window by ``now`` (entry + W×24h ≤ now); one after
        it has not, and their later steps can still come."""
        return (self.now or clock.now()).astimezone(UTC) - self.window

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
                   where=(), people=None, exclude_people=None, breakdown_limit: int = 10,
                   step_windows=(), exclusions=(), value_property: str | None = None, closed_only: bool = False,
                   now: datetime | None = None) -> dict:
    """The funnel of ``steps`` (contract in DESIGN.md): ``{"steps": [...]}`` plus ``"breakdown"`` when asked.

    ``breakdown``: ``"channel"`` or a property key. ``step_windows``: seconds or None per step after the first
    (fewer entries: the rest have none). ``exclusions``: (event, a, b) with 0-based steps a < b. ``engine`` is
    ``"columns"`` or ``"sql"`` (PostgreSQL only), or ``"pandas"``; by default ``_default_engine``.

    A customer's conversions can still grow until their window has passed: ``"window"`` says how many entrants (per
    breakdown row too: ``entrants_window_open``) entered less than W days before ``now`` (default: the current
    time), and ``closed_only`` keeps only the entrants whose window had closed by then (DESIGN.md: a cohort is mature
    for an N-day measure once N days have passed).
    """
    if breakdown is not None and not str(breakdown):
        raise ValueError("empty breakdown")
    if not 1 <= breakdown_limit <= 25:
        raise ValueError("breakdown_limit is 1…25")
    if len(step_windows) > len(steps) - 1 or any(w is not None and w <= 0 for w in step_windows):
        raise ValueError("step_windows: one positive number of seconds (or None) per step after the first")
    exclusions = tuple((str(name), int(a), int(b)) for name, a, b in exclusions)
    if len(exclusions) > MAX_EXCLUSIONS or any(not 0 <= a < b < len(steps) for _name, a, b in exclusions):
        raise ValueError("exclusions: (event, a, b) with 0 <= a < b < number of steps")
    query = FunnelQuery(steps=tuple(steps), window_days=window_days, date_from=date_from, date_to=date_to,
                        breakdown=breakdown,
                        property_filter=(str(property_filter[0]), str(property_filter[1])) if property_filter else None,
                        filter_every_step=filter_every_step, where=tuple(where), people=people,
                        exclude_people=exclude_people, breakdown_limit=breakdown_limit,
                        step_windows=tuple(step_windows), exclusions=exclusions, value_property=value_property,
                        now=(now or clock.now()).astimezone(UTC), closed_only=closed_only)
    engine = engine or _default_engine(query)
    if engine == "columns":
        groups = _groups_pandas(_paths_columns(query), query, open_after=us_2000(query.window_closed_before))
    elif engine == "sql":
        groups = _groups_sql(query)
    else:
        groups = _groups_pandas(_paths_pandas(query), query, open_after=moment_us(query.window_closed_before))
    overall = groups.pop(None, None)
    result = {"steps": _step_rows(query, overall), "window": _window(query, overall)}
    if breakdown:
        other = groups.pop(OTHER_VALUE, None)
        ordered = sorted(groups.items(), key=lambda item: (-item[1].counts[0], item[0]))
        if other is not None:
            ordered.append((OTHER_VALUE, other))
        result["breakdown"] = [{"value": value, "steps": _step_rows(query, stats),
                                "entrants_window_open": stats.open} for value, stats in ordered]
    return result


def _window(query: FunnelQuery, overall: StepStats | None) -> dict:
    """How mature the funnel is at ``query.now``: entrants at or before ``closed_before`` have had their whole
    window; ``entrants_open`` of the counted entrants have not (their later steps can still come); ``closed_only``
    says whether the entry range was cut there; ``complete``: the answer is final (an entry at the very end of the
    range has had its window too)."""
    return {"days": query.window_days, "as_of": query.now.isoformat(),
            "closed_before": query.window_closed_before.isoformat(), "closed_only": query.closed_only,
            "entrants_open": overall.open if overall else 0,
            "complete": query.range_end <= query.window_closed_before + _MICROSECOND}


@dataclass(frozen=True)
class StepStats:
    """For one group of entrants: customers per step, and per step k ≥ 1 the median and mean seconds from k−1."""

    counts: list[int]
    medians: list[float | None]
    means: list[float | None]
    value_sums: list[float] | None = None  # with ``value_property``
    value_avgs: list[float | None] | None = None
    open: int = 0  # entrants whose window had not closed at the funnel's ``now``


def _step_rows(query: FunnelQuery, stats: StepStats | None) -> list[dict]:
    n = len(query.steps)
    stats = stats or StepStats(counts=[0] * n, medians=[None] * n, means=[None] * n)
    counts = stats.counts
    rows = [{
        "event": name,
        "count": counts[k],
        "conversion_from_previous": _ratio(counts[k], counts[k - 1] if k else counts[0]),
        "conversion_from_first": _ratio(counts[k], counts[0]),
        "median_seconds_to_convert": _seconds(stats.medians[k]) if k and counts[k] else None,
        "avg_seconds_to_convert": _seconds(stats.means[k]) if k and counts[k] else None,
    } for k, name in enumerate(query.steps)]
    if query.value_property:
        sums = stats.value_sums or [0.0] * n
        avgs = stats.value_avgs or [None] * n
        for k, row in enumerate(rows):
            row["value_sum"] = _value(sums[k]) or 0
            row["value_avg"] = _value(avgs[k])
    return rows


def _value(value) -> float | int | None:
    """A step's value rounded to ``VALUE_DECIMALS`` (a whole number as an int), None for none."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    value = round(float(value), VALUE_DECIMALS)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


# The pandas path: one row per entrant with the breakdown value (column ``channel``: the entry channel or property
# text) and the matched time of each step (NaN where not matched) in microseconds since the epoch (exact in float64),
# in columns t0…tn, and with ``value_property`` the matched events' values in x0…xn; then grouped stats.


def _columns(query: FunnelQuery) -> list[str]:
    return [f"t{k}" for k in range(len(query.steps))]


def _values(query: FunnelQuery) -> list[str]:
    return [f"x{k}" for k in range(len(query.steps))] if query.value_property else []


def _paths_pandas(query: FunnelQuery) -> pd.DataFrame:
    names = sorted(set(query.steps))
    rows = Event.objects.filter(event__in=names, timestamp__gte=query.start, timestamp__lte=query.last_deadline)
    if query.step_filter:  # every step filtered: read only the events with the property value
        rows = rows.alias(p=Cast(KeyTextTransform(query.step_filter[0], "properties"), TextField())).filter(
            p=query.step_filter[1])
    rows = events_restricted(rows, where=query.where, people=query.people, exclude_people=query.exclude_people)
    fields = ["id", "person_id", "event", "timestamp", "channel"]
    if query.property_breakdown:
        rows = rows.annotate(_v=JsonText(query.property_breakdown))
        fields[-1] = "_v"
    if query.value_property:
        rows = rows.annotate(_x=JsonNumber(query.value_property))
        fields.append("_x")
    events = pd.DataFrame.from_records(list(rows.order_by().values_list(*fields)),
                                       columns=["id", "person_id", "event", "timestamp", "channel", "x"][:len(fields)])
    columns = _columns(query)
    values = _values(query)
    if events.empty:
        return pd.DataFrame(columns=["person_id", "channel", *columns, *values])
    events["ts"] = epoch_us(events["timestamp"])
    if query.value_property:
        events["x"] = pd.to_numeric(events["x"], errors="coerce").astype("float64")
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
    kept = ["person_id", "channel", "ts", *(["x"] if values else [])]
    paths = entries[kept].rename(columns={"ts": "t0", "x": "x0"}).reset_index(drop=True)
    current = paths[["person_id", "t0"]].rename(columns={"t0": "previous"})
    current["deadline"] = paths["t0"] + window
    for k, name in enumerate(query.steps[1:], start=1):
        candidates = events.loc[events["event"] == name, ["person_id", "ts", "id", *(["x"] if values else [])]]
        joined = current.merge(candidates, on="person_id")
        inside = (joined["ts"] > joined["previous"]) & (joined["ts"] <= joined["deadline"])
        if query.step_window(k) is not None:
            inside &= joined["ts"] <= joined["previous"] + query.step_window(k) // timedelta(microseconds=1)
        # The earliest event after the previous match (the first stored among simultaneous ones: its value counts).
        matched = (joined[inside].sort_values(["person_id", "ts", "id"]).drop_duplicates("person_id", keep="first")
                   .drop(columns=["previous", "id"]))
        step = matched.drop(columns=["deadline"]).rename(columns={"ts": f"t{k}", "x": f"x{k}"})
        paths = paths.merge(step, on="person_id", how="left")
        current = matched[["person_id", "ts", "deadline"]].rename(columns={"ts": "previous"})
    if query.exclusions:
        excluded = (Event.objects.filter(event__in=sorted({name for name, _a, _b in query.exclusions}),
                                         timestamp__gt=query.start, timestamp__lte=query.last_deadline)
                    .order_by().values_list("person_id", "event", "timestamp"))
        frame = pd.DataFrame.from_records(list(excluded), columns=["person_id", "event", "timestamp"])
        frame["ts"] = epoch_us(frame["timestamp"]) if len(frame) else pd.Series([], dtype="int64")
        _cut(paths, query, {name: frame.loc[frame["event"] == name, ["person_id", "ts"]]
                            for name, _a, _b in query.exclusions})
    return paths


def _cut(paths: pd.DataFrame, query: FunnelQuery, excluded: dict[str, pd.DataFrame]) -> None:
    """Apply the exclusions to ``paths`` in place (any engine's frame; times in any one unit of microseconds):
    a customer with an excluded event strictly after step a's match and strictly before step b's — or, step b not
    matched, at most entry + W — keeps steps 0…a only (later times set to NaN). ``excluded``: per event name, its
    events' ``person_id`` and ``ts``."""
    if not len(paths):
        return
    columns = _columns(query)
    times = paths[columns].to_numpy(dtype="float64", copy=True)  # written below: never a view of the frame
    reached = np.logical_and.accumulate(~np.isnan(times), axis=1)
    cut = np.full(len(paths), len(columns))  # the first step a customer is no longer counted at
    end = times[:, 0] + query.window_days * 86_400_000_000
    for name, a, b in query.exclusions:
        events = excluded[name]
        rows = np.flatnonzero(reached[:, a])
        if not len(events) or not len(rows):
            continue
        frame = pd.DataFrame({"person_id": paths["person_id"].to_numpy()[rows], "row": rows,
                              "lower": times[rows, a], "has_b": reached[rows, b],
                              "upper": np.where(reached[rows, b], times[rows, b], end[rows])})
        joined = frame.merge(events, on="person_id")
        ts = joined["ts"].to_numpy(dtype="float64")
        hit = (ts > joined["lower"].to_numpy()) & np.where(joined["has_b"].to_numpy(), ts < joined["upper"].to_numpy(),
                                                           ts <= joined["upper"].to_numpy())
        hits = np.unique(joined["row"].to_numpy()[hit])
        cut[hits] = np.minimum(cut[hits], a + 1)
    for k in range(1, len(columns)):
        drop = cut <= k
        if drop.any():
            times[drop, k] = np.nan
            paths[columns[k]] = times[:, k]


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
    """pandas off PostgreSQL; there, the columns unless the funnel is a merchant's (``property_filter``: its
    expression index finds the few events it needs) or the range does not fit them (``columns_fit``)."""
    if connection.vendor != "postgresql":
        return "pandas"
    if query.property_filter:
        return "sql"
    lo, hi = _columns_range(query)
    names = [*query.steps, *(name for name, _a, _b in query.exclusions)]
    return "columns" if columns_fit(lo=lo, hi=hi, names=names) else "sql"


def _paths_columns(query: FunnelQuery) -> pd.DataFrame:
    if query.property_filter:
        raise ValueError("the columns engine has no merchant filter: use the sql engine for property_filter")
    lo, hi = _columns_range(query)
    excluded_names = sorted({name for name, _a, _b in query.exclusions})
    keys = where_keys(query.where)
    wanted = {name: list(keys) for name in query.steps}
    if query.property_breakdown:
        wanted[query.steps[0]] = [*wanted[query.steps[0]], query.property_breakdown]
    with consistent_read():
        read = columns_read(names=[*query.steps, *excluded_names], coverage=columns_coverage(lo=lo, hi=hi),
                            full=query.steps if query.value_property else query.steps[:1], properties=wanted,
                            numbers={name: [*where_number_keys(query.where),
                                            *([query.value_property] if query.value_property else [])]
                                     for name in query.steps})
    # Exclusions count every event of their name (as the other engines do): taken before the filters apply.
    excluded = {name: read[name] if name in query.steps else read.pop(name) for name in excluded_names}
    if query.restricted:
        for name in set(query.steps):
            read[name] = read[name].where(restricted_mask(read[name], where=query.where, people=query.people,
                                                          exclude_people=query.exclude_people))
    columns = _columns(query)
    values = _values(query)
    # Each name's events are let go once no later step reads them (memory: about 30 bytes per event in the range).
    entries = read[query.steps[0]] if query.steps[0] in query.steps[1:] else read.pop(query.steps[0])
    entries = entries.where((entries.times >= us_2000(query.start)) & (entries.times < us_2000(query.end)))
    if not len(entries):
        return pd.DataFrame(columns=["person_id", "channel", *columns, *values])
    base = int(entries.persons.min())
    size = int(entries.persons.max()) - base + 1
    slot = entries.persons - base
    entry_at = np.full(size, _NEVER)
    np.minimum.at(entry_at, slot, entries.times)
    tied = entries.times == entry_at[slot]
    entry_id = np.full(size, _NEVER)
    np.minimum.at(entry_id, slot[tied], entries.ids[tied])
    chosen = tied & (entries.ids == entry_id[slot])
    if query.property_breakdown:
        breakdown = entries.properties[query.property_breakdown]
        categories, entry_category = np.unique(np.array(["" if text is None else text for text in breakdown.texts],
                                                        dtype=object), return_inverse=True)
        codes = entry_category[breakdown.codes]
    else:
        categories, codes = entries.channels, entries.codes
    channel = np.zeros(size, np.int32)
    channel[slot[chosen]] = codes[chosen]
    step_values = []
    if query.value_property:
        value = np.full(size, np.nan)
        value[slot[chosen]] = entries.properties[query.value_property].values()[chosen]
        step_values.append(value)
    entered = entry_at != _NEVER
    deadline = np.where(entered, entry_at, 0) + query.window_days * 86_400_000_000
    matched, previous = [entry_at], entry_at  # _NEVER where not matched: no event is later than that
    for k, name in enumerate(query.steps[1:], start=1):
        events = read[name] if name in query.steps[k + 1:] else read.pop(name)
        slots, times = events.persons - base, events.times
        inside = (slots >= 0) & (slots < size)
        if not inside.all():  # people who entered nowhere in the range: only their events are copied out
            slots, times = slots[inside], times[inside]
            events = events.where(inside) if query.value_property else events
        if not query.value_property:
            del events
        del inside
        hit = (times > previous[slots]) & (times <= deadline[slots])
        if query.step_window(k) is not None:  # _NEVER (not matched) + w would overflow: those never hit anyway
            limit = np.where(previous == _NEVER, 0, previous) + query.step_window(k) // timedelta(microseconds=1)
            hit &= times <= limit[slots]
        step_at = np.full(size, _NEVER)
        np.minimum.at(step_at, slots[hit], times[hit])
        if query.value_property:  # the matched event's value: the first stored of simultaneous ones
            tied = hit & (times == step_at[slots])
            step_id = np.full(size, _NEVER)
            np.minimum.at(step_id, slots[tied], events.ids[tied])
            chosen = tied & (events.ids == step_id[slots])
            value = np.full(size, np.nan)
            value[slots[chosen]] = events.properties[query.value_property].values()[chosen]
            step_values.append(value)
            del events
        matched.append(step_at)
        previous = step_at
    who = np.flatnonzero(entered)
    frame = {"person_id": who + base,
             "channel": pd.Categorical.from_codes(channel[who], categories=list(categories))}
    for column, at in zip(columns, matched, strict=True):
        at = at[who]
        frame[column] = np.where(at == _NEVER, np.nan, at.astype(np.float64))
    for column, value in zip(values, step_values, strict=True):
        frame[column] = value[who]
    paths = pd.DataFrame(frame)
    if query.exclusions:
        _cut(paths, query, {name: pd.DataFrame({"person_id": events.persons, "ts": events.times})
                            for name, events in excluded.items()})
    return paths


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


_NUMBER_SQL = "CASE WHEN jsonb_typeof(properties -> %s) = 'number' THEN (properties ->> %s)::float8 END"


def _paths_sql(query: FunnelQuery, low: int, high: int) -> tuple[str, list]:
    """One row per entrant with a person id in [low, high): person_id, value (breakdown value: entry channel or
    property text), t0 … tn (NULL from the first step not matched) and, with ``value_property``, x0 … xn (the
    matched events' values)."""
    condition, condition_params = query.restriction_sql() if query.restricted else ("TRUE", [])
    if query.property_breakdown:
        value_sql, params = "coalesce(nullif(properties ->> %s, ''), %s)", [query.property_breakdown, NONE_VALUE]
    else:
        value_sql, params = "coalesce(nullif(channel, ''), %s)", [NONE_VALUE]
    number = [query.value_property] * 2 if query.value_property else []
    params += [*number, query.steps[0], query.start, query.end, low, high, *(query.property_filter or ()),
               *condition_params]
    sql = (f'SELECT DISTINCT ON (person_id) person_id, timestamp AS t0, {value_sql} COLLATE "C" AS value'
           + (f", {_NUMBER_SQL} AS x0 " if query.value_property else " ")
           + "FROM analytics_event WHERE event = %s AND timestamp >= %s AND timestamp < %s "
           "AND person_id >= %s AND person_id < %s "
           + ("AND properties ->> %s = %s " if query.property_filter else "")
           + f"AND {condition} "
           + "ORDER BY person_id, timestamp, id")
    carried = ["t0", *(["x0"] if query.value_property else [])]
    for k in range(1, len(query.steps)):
        keep = ", ".join(f"min(f.{column}) AS {column}" for column in carried)
        step_window = query.step_window(k)
        # The value of the earliest matched event, the first stored among simultaneous ones.
        value = f", (array_agg(e.x ORDER BY e.ts, e.id))[1] AS x{k}" if query.value_property else ""
        read = "person_id, timestamp AS ts" + (f", id, {_NUMBER_SQL} AS x" if query.value_property else "")
        # The slice's ORDER BY lets the merge join read it in index order (without it the planner sorts it again).
        sql = (f"SELECT f.person_id, min(f.value) AS value, {keep}, min(e.ts) AS t{k}{value} FROM ({sql}) AS f "  # noqa: S608
               f"LEFT JOIN (SELECT {read} FROM analytics_event "
               "WHERE event = %s AND timestamp > %s AND timestamp <= %s AND person_id >= %s AND person_id < %s "
               + ("AND properties ->> %s = %s " if query.step_filter else "")
               + f"AND {condition} "
               + "ORDER BY person_id, timestamp) AS e "
               f"ON e.person_id = f.person_id AND e.ts > f.t{k - 1} AND e.ts <= f.t0 + %s "
               + (f"AND e.ts <= f.t{k - 1} + %s " if step_window is not None else "")
               + "GROUP BY f.person_id")
        params += [*number, query.steps[k], query.start, query.last_deadline, low, high, *(query.step_filter or ()),
                   *condition_params, query.window, *([step_window] if step_window is not None else [])]
        carried += [f"t{k}", *([f"x{k}"] if query.value_property else [])]
    return sql, params


def _cut_sql(query: FunnelQuery, paths: str) -> tuple[str, list]:
    """``paths`` with the exclusions applied (README's rule; ``_cut`` says the same for the other engines): step
    times after a customer's cut are NULL. Each exclusion is an index probe per entrant who reached its step a."""
    n = len(query.steps)
    probes, params = [], []
    for name, a, b in query.exclusions:
        probes.append(f"CASE WHEN p.t{a} IS NOT NULL AND EXISTS (SELECT 1 FROM analytics_event AS x "  # noqa: S608
                      f"WHERE x.event = %s AND x.person_id = p.person_id AND x.timestamp > p.t{a} AND CASE WHEN "
                      f"p.t{b} IS NULL THEN x.timestamp <= p.t0 + %s ELSE x.timestamp < p.t{b} END) THEN {a + 1} END")
        params += [name, query.window]
    times = ", ".join(f"CASE WHEN cut <= {k} THEN NULL ELSE t{k} END AS t{k}" for k in range(1, n))
    values = "".join(f", x{k}" for k in range(n)) if query.value_property else ""
    return (f"SELECT value, t0, {times}{values} FROM (SELECT p.*, least({', '.join(probes)}) AS cut "  # noqa: S608
            f"FROM ({paths}) AS p) AS c"), params


def _groups_sql(query: FunnelQuery) -> dict[str | None, StepStats]:
    """Per group of entrants (all: key ``None``; per kept breakdown value and ``(other)``), counts, medians and
    means of each step (and values). One statement (see the notes above ``PERSON_RANGES``) grouped by every value;
    only when it finds more values than ``breakdown_limit`` a second one groups the others into ``(other)`` (a
    breakdown by channel has a handful of values: the default funnel stays one statement)."""
    groups = _groups_sql_run(query, keep=None)
    values = [value for value in groups if value is not None]
    if len(values) <= query.breakdown_limit:
        return groups
    keep, _other = top_values({value: groups[value].counts[0] for value in values}, query.breakdown_limit)
    return _groups_sql_run(query, keep=keep)


def _groups_sql_run(query: FunnelQuery, *, keep: list[str] | None) -> dict[str | None, StepStats]:
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
        paths = " UNION ALL ".join(branches)
        if query.exclusions:
            paths, cut_params = _cut_sql(query, paths)
            params = [*cut_params, *params]  # the probes come first in the statement's text
        carried = ", ".join([f"t{k}" for k in range(n)] + (_values(query)))
        if keep is not None:  # the kept values; every other entrant in one "(other)" group
            params = [keep, OTHER_VALUE, *params]
            paths = (f"SELECT CASE WHEN value = ANY(%s) THEN value ELSE %s END AS value, {carried} "  # noqa: S608
                     f"FROM ({paths}) AS c")
        # Microseconds between steps as bigint: date_part's double is exact to far below a microsecond for any
        # window (< 2^53 µs), and much cheaper than extract()'s numeric.
        columns = ["count(*) FILTER (WHERE t0 > %s)", "count(*), NULL::float8, NULL::numeric"] + [
            f"count(t{k}), percentile_cont(0.5) WITHIN GROUP (ORDER BY dt{k}), avg(dt{k})" for k in range(1, n)]
        if query.value_property:
            columns += [f"coalesce(sum(x{k}) FILTER (WHERE t{k} IS NOT NULL), 0), "
                        f"avg(x{k}) FILTER (WHERE t{k} IS NOT NULL)" for k in range(n)]
        deltas = ", ".join(f"round(date_part('epoch', t{k} - t{k - 1}) * 1000000)::bigint AS dt{k}"
                           for k in range(1, n))
        if query.breakdown:
            key, grouping = "CASE WHEN grouping(value) = 0 THEN value END", "GROUPING SETS ((), (value))"
        else:
            key, grouping = "NULL", "()"
        cursor.execute(
            f"SELECT {key}, {', '.join(columns)} FROM (SELECT value, {carried}, "  # noqa: S608
            f"{deltas} FROM ({paths}) AS paths) AS p GROUP BY {grouping}",
            [query.window_closed_before, *params],
        )
        rows = cursor.fetchall()
    groups: dict[str | None, StepStats] = {}
    for value, still_open, *numbers in rows:
        if not numbers[0]:
            continue  # no entrant at all: the grand total of an empty set
        stats = StepStats(counts=[0] * n, medians=[None] * n, means=[None] * n,
                          value_sums=[0.0] * n if query.value_property else None,
                          value_avgs=[None] * n if query.value_property else None, open=int(still_open))
        for k in range(n):
            count, median_us, mean_us = numbers[3 * k: 3 * k + 3]
            stats.counts[k] = int(count)
            stats.medians[k] = None if median_us is None else float(median_us) / 1e6  # microseconds from step k−1
            stats.means[k] = None if mean_us is None else float(mean_us) / 1e6
            if query.value_property:
                total, mean = numbers[3 * n + 2 * k: 3 * n + 2 * k + 2]
                stats.value_sums[k] = float(total)
                stats.value_avgs[k] = None if mean is None else float(mean)
        groups[value] = stats
    return groups


def _groups_pandas(paths: pd.DataFrame, query: FunnelQuery, *, open_after: int) -> dict[str | None, StepStats]:
    """Stats of all entrants (key ``None``) and, with a breakdown, of each kept value and ``(other)`` ("" and None
    read ``NONE_VALUE``); entrants after ``open_after`` (the paths' unit) still have their window open."""
    times = paths[_columns(query)].to_numpy(dtype="float64")
    values = paths[_values(query)].to_numpy(dtype="float64") if query.value_property else None
    groups = {None: _stats(times, values, open_after=open_after)}
    if query.breakdown and len(paths):
        channel = paths["channel"]
        if not isinstance(channel.dtype, pd.CategoricalDtype):
            channel = channel.astype(object).where(channel.notna(), "").astype(str).astype("category")
        # Integer group codes (categories "" and "(none)" are one group); a value seen only on events that were
        # nobody's entry has no entrant and no group.
        labels, of_category = np.unique(np.array([value or NONE_VALUE for value in channel.cat.categories],
                                                 dtype=object), return_inverse=True)
        group = of_category[channel.cat.codes.to_numpy()]
        entrants = np.bincount(group, minlength=len(labels))
        keep, other = top_values({labels[i]: int(entrants[i]) for i in np.flatnonzero(entrants)},
                                 query.breakdown_limit)
        index = {label: i for i, label in enumerate(labels)}
        for label in keep:
            rows = group == index[label]
            groups[label] = _stats(times[rows], None if values is None else values[rows], open_after=open_after)
        if other:
            rows = ~np.isin(group, [index[label] for label in keep])
            groups[OTHER_VALUE] = _stats(times[rows], None if values is None else values[rows],
                                         open_after=open_after)
    return groups


def _stats(times: np.ndarray, values: np.ndarray | None = None, *, open_after: int) -> StepStats:
    """Counts, medians and means of one group's paths: a row per entrant, a column per step with the matched time in
    microseconds (NaN from the first step not matched); with ``values``, the matched events' values per step (NaN
    where none) summed and averaged over the customers counted at each step; ``open``: entrants after
    ``open_after``."""
    n = times.shape[1]
    still_open = int((times[:, 0] > open_after).sum()) if len(times) else 0
    reached = np.logical_and.accumulate(~np.isnan(times), axis=1)
    counts = [int(count) for count in reached.sum(axis=0)]
    medians, means = [None] * n, [None] * n
    for k in range(1, n):
        if counts[k]:
            mask = reached[:, k]
            seconds = (times[mask, k] - times[mask, k - 1]) / 1e6
            medians[k], means[k] = float(np.median(seconds)), float(np.mean(seconds))
    if values is None:
        return StepStats(counts=counts, medians=medians, means=means, open=still_open)
    counted = np.where(reached, values, np.nan)
    present = ~np.isnan(counted)
    sums = np.nansum(counted, axis=0)
    return StepStats(counts=counts, medians=medians, means=means, value_sums=[float(value) for value in sums],
                     value_avgs=[float(sums[k] / present[:, k].sum()) if present[:, k].any() else None
                                 for k in range(n)], open=still_open)
