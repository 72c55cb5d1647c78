"""Event columns: each complete UTC day's events, copied once into packed arrays per event name (PostgreSQL only).

An ad hoc funnel over 90 days of 10M events otherwise walks ~10M index tuples through PostgreSQL's executor, about a
microsecond each on two cores. The columns hold what a funnel needs of an event — person, time, id, channel — as
packed arrays, one row (``ColumnBlock``) per UTC day and event name, so a funnel reads a few hundred rows and does
its ordered matching in numpy (``analytics.services.funnel``).

- **Built** for days that are complete (``columns_build``: hourly, after ``import_events``, nightly and
  ``build_event_columns``): every UTC day up to the day before yesterday that has events and no columns, and every
  day with a recorded change. One build at a time (a session advisory lock: a second one waits, or with
  ``wait=False`` — the tasks — leaves the days to the running one, which looks again for days that need it before it
  ends); one day per transaction, each one ``INSERT … SELECT`` grouped by event name. With nothing to do a build is
  three small reads and no write.
- **Never stale.** Triggers on the events table (migration 0008) record every past UTC day whose events are inserted,
  changed or deleted (``ColumnChange``), whoever writes them — ingestion, ``import_events``, a bulk ``COPY``, the
  admin. A build deletes the changes of its day *before* it reads the day's events, so a write that lands while the
  day is being read leaves its change behind; a day with a change is read from the events until it is rebuilt.
  Today's events are not recorded (today is never built), which keeps the triggers cheap for live ingestion.
- **Read** (``columns_read``) for any range: the valid days from their blocks, the rest of the range (partial days
  at the edges, yesterday and today, days with a change) straight from the events, in the same packed form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import psycopg
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from analytics.models import (
    ColumnBlock,
    ColumnChange,
    ColumnDay,
    ColumnProperty,
    ColumnValue,
    Event,
    EventCountHourly,
)

# pg_advisory_xact_lock key of column builds (any fixed bigint unique among this database's advisory locks).
BUILD_LOCK_KEY = 0x6F70_636F_6C01  # "opcol" + 1
# pg_advisory_lock key (session) held by a whole ``columns_build``: one build runs at a time.
BUILD_RUN_LOCK_KEY = 0x6F70_636F_6C02  # "opcol" + 2
# A build looks again for days that need it after building its list (writes, an import, that landed meanwhile), at
# most this many times: a day written to without pause is not rebuilt for ever.
BUILD_ROUNDS = 3
# Days younger than this are read from the events: late events for yesterday still arrive.
BUILD_LAG_DAYS = 2
# The layout of the columns: 3 = arrays in event id order and every property key encoded (``ColumnProperty``) into
# one dictionary of values shared by every day (``ColumnValue``; 2 had a dictionary per day and key). A day built in
# another layout is read from the events and built again.
LAYOUT = 3
_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)
_EVENTS = Event._meta.db_table
_VALUES = ColumnValue._meta.db_table
# Ids up to this are found and placed through tables indexed by id (12 bytes each, 120 MB at most); past it, by
# hashing and a sort.
_ID_TABLE = 10_000_000


def supported() -> bool:
    return connection.vendor == "postgresql"


def utc_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def us_2000(moment: datetime) -> int:
    """An aware instant as microseconds since 2000-01-01 UTC (PostgreSQL's binary timestamp)."""
    return (moment - _EPOCH_2000) // timedelta(microseconds=1)


def _columns_select(where: str) -> str:
    """Per event name among the events ``where`` selects (alias ``e``): name, count, the distinct channels as JSON
    text, and the packed big-endian arrays of person ids, times, event ids and 1-based channel positions, every array
    in event id order (the rows ``_properties_insert`` numbers)."""
    return (
        f"WITH e AS MATERIALIZED (SELECT event, person_id, timestamp, id, channel FROM {_EVENTS} AS e "  # noqa: S608
        f"WHERE {where}), "
        "d AS (SELECT event, array_agg(DISTINCT channel) AS dict FROM e GROUP BY event) "
        "SELECT e.event, count(*), to_jsonb(d.dict)::text, string_agg(int8send(e.person_id), '' ORDER BY e.id), "
        "string_agg(timestamptz_send(e.timestamp), '' ORDER BY e.id), string_agg(int8send(e.id), '' ORDER BY e.id), "
        "string_agg(int4send(array_position(d.dict, e.channel)), '' ORDER BY e.id) "
        "FROM e JOIN d ON d.event = e.event GROUP BY e.event, d.dict"
    )


def _gap_select(keys: list[str]) -> tuple[str, list]:
    """The events of a range that is not built, read in one aggregate pass per event name (so every array has the
    same row order, whatever it is): packed person ids and times, event ids and the channel texts (only for the names
    of the first two parameters, ``full``), and per key the texts (``->>``) and a byte per event, 1 when the value is
    a JSON number. A few times cheaper than packing a day's columns: no sort, no join, no dictionary in SQL."""
    per_key = "".join(", array_agg(e.properties ->> %s::text), string_agg(CASE WHEN jsonb_typeof(e.properties -> "
                      "%s::text) = 'number' THEN '\\x01'::bytea ELSE '\\x00'::bytea END, '')" for _key in keys)
    return (
        "SELECT e.event, string_agg(int8send(e.person_id), ''), string_agg(timestamptz_send(e.timestamp), ''), "  # noqa: S608
        "string_agg(CASE WHEN e.event = ANY(%s) THEN int8send(e.id) END, ''), "
        f"array_agg(e.channel) FILTER (WHERE e.event = ANY(%s)){per_key} FROM {_EVENTS} AS e",
        [value for key in keys for value in (key, key)],
    )


# A JSON number PostgreSQL's float8 cannot hold (|x| ≥ 1e308 or a nonzero |x| < 1e-307) is kept as "not a number"
# rather than failing the whole day's build.
_NUMBER_SQL = ("CASE WHEN k.n AND (k.t::numeric = 0 OR abs(k.t::numeric) BETWEEN 1e-307 AND 1e308) "
               "THEN k.t::float8 ELSE 'NaN'::float8 END")


def _properties_insert(where: str) -> str:
    """Adds to ``ColumnValue`` every value a key takes among the events ``where`` selects (alias ``e``) that it does
    not hold yet, and inserts a ``ColumnProperty`` of the day (the parameter after ``where``'s) per event name and
    property key: each event carrying the key (not JSON null) as packed arrays in event id order — its 0-based row in
    the block (int4, the order ``_columns_select`` packs), its value's ``ColumnValue`` id (int4) and its number
    (float8, NaN unless a JSON number; NULL when no event's value is one). A value's text is what ``->>`` gives; a
    string "12" and a number 12 are two values.

    ``rows`` is NULL when every event of the block carries the key (the rows are then 0, 1, …: not stored, not read).

    One statement: the day's distinct values are first looked up one by one through the unique index (key, number,
    md5(text)) — a lateral probe, so a dictionary of millions of values is never scanned — and only those not found
    are inserted (an insert that met a conflict would still use up an id: a rebuild would burn one per value), and
    returned by the insert (a statement does not see its own writes). Builds run one at a time
    (``BUILD_LOCK_KEY``), so no other writer adds values meanwhile."""
    return (
        f"WITH e AS MATERIALIZED (SELECT event, properties, "  # noqa: S608
        f"(row_number() OVER (PARTITION BY event ORDER BY id) - 1)::int AS pos FROM {_EVENTS} AS e WHERE {where}), "
        "sizes AS (SELECT event, count(*) AS events FROM e GROUP BY event), "
        "k AS MATERIALIZED (SELECT e.event, e.pos, p.key, p.value #>> '{}' AS t, jsonb_typeof(p.value) = 'number' AS n "
        "FROM e, jsonb_each(e.properties) AS p WHERE jsonb_typeof(p.value) <> 'null'), "
        "d AS MATERIALIZED (SELECT DISTINCT key, n, t FROM k), "
        "found AS MATERIALIZED (SELECT d.key, d.n, d.t, v.id, v.value FROM d LEFT JOIN LATERAL (SELECT v.id, v.value "
        f"FROM {_VALUES} AS v WHERE v.key = d.key AND v.number = d.n AND md5(v.text) = md5(d.t) AND v.text = d.t "
        "LIMIT 1) AS v ON true), "
        f"added AS (INSERT INTO {_VALUES} (key, number, text, value) SELECT k.key, k.n, k.t, {_NUMBER_SQL} "
        "FROM found AS k WHERE k.id IS NULL "
        "ON CONFLICT (key, number, md5(text)) DO NOTHING RETURNING id, key, number, text, value), "
        "c AS MATERIALIZED (SELECT id, key, number, text, value FROM added UNION ALL "
        "SELECT id, key, n, t, value FROM found WHERE id IS NOT NULL) "
        f"INSERT INTO {ColumnProperty._meta.db_table} (day, event, key, numbers, rows, codes) "
        "SELECT %s, k.event, k.key, CASE WHEN bool_or(k.n) THEN string_agg(float8send(c.value), '' ORDER BY k.pos) "
        "END, CASE WHEN count(*) < min(sizes.events) THEN string_agg(int4send(k.pos), '' ORDER BY k.pos) END, "
        "string_agg(int4send(c.id), '' ORDER BY k.pos) FROM k JOIN c ON c.key = k.key AND c.number = k.n "
        "AND c.text = k.t JOIN sizes ON sizes.event = k.event GROUP BY k.event, k.key"
    )


# Building


@dataclass(frozen=True)
class BuildResult:
    days: int
    events: int
    busy: bool = False  # another build was running, and this one (``wait=False``) left the days to it


def columns_build_through(today: date | None = None) -> date:
    """The last day a build covers: the day before yesterday (UTC)."""
    return (today or timezone.now().astimezone(UTC).date()) - timedelta(days=BUILD_LAG_DAYS)


def columns_days_to_build(*, through: date) -> list[date]:
    """UTC days up to ``through`` with events and no columns, and days with a recorded change, in order."""
    with connection.cursor() as cursor:
        # One index probe per day with events (a loose scan of the time index), not a pass over every event.
        cursor.execute(
            "WITH RECURSIVE d(day) AS ("  # noqa: S608 - only the table name is formatted in
            f"SELECT (min(timestamp) AT TIME ZONE 'UTC')::date FROM {_EVENTS} "
            f"UNION ALL SELECT (SELECT (min(e.timestamp) AT TIME ZONE 'UTC')::date FROM {_EVENTS} AS e "
            "WHERE e.timestamp >= ((d.day + 1)::timestamp AT TIME ZONE 'UTC')) FROM d "
            "WHERE d.day IS NOT NULL AND d.day < %s) "
            "SELECT day FROM d WHERE day IS NOT NULL AND day <= %s",
            [through, through],
        )
        with_events = {row[0] for row in cursor.fetchall()}
    built = set(ColumnDay.objects.filter(day__lte=through, layout=LAYOUT).values_list("day", flat=True))
    changed = set(ColumnChange.objects.filter(day__lte=through).values_list("day", flat=True).distinct())
    return sorted((with_events - built) | changed)


class TooRecent(ValueError):
    """A day the triggers may not yet record writes to (see ``BUILD_LAG_DAYS``): its columns could go stale."""


def _check_built_day(day: date) -> None:
    if day > columns_build_through():
        raise TooRecent(f"{day} is too recent to build: events of the last {BUILD_LAG_DAYS} UTC days are read from "
                        f"the events (the last day that can be built is {columns_build_through()}).")


def columns_build_day(day: date) -> int:
    """(Re)build one UTC day's columns; returns its number of events. ``TooRecent`` for today and yesterday (UTC):
    the triggers do not record writes to today, so columns of it would go stale; a statement that began before
    midnight can still be writing yesterday's."""
    _check_built_day(day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK_KEY])
        # The changes first: a write that commits after this statement leaves its change, and the day stays unread.
        ColumnChange.objects.filter(day=day).delete()
        ColumnBlock.objects.filter(day=day).delete()
        ColumnProperty.objects.filter(day=day).delete()
        cursor.execute(
            f"INSERT INTO {ColumnBlock._meta.db_table} (day, event, events, channels, persons, times, ids, codes) "  # noqa: S608
            "SELECT %s, c.event, c.events, c.channels::jsonb, c.persons, c.times, c.ids, c.codes FROM ("
            + _columns_select("e.timestamp >= %s AND e.timestamp < %s")
            + ") AS c (event, events, channels, persons, times, ids, codes) RETURNING events",
            [day, utc_day_start(day), utc_day_start(day + timedelta(days=1))],
        )
        events = sum(row[0] for row in cursor.fetchall())
        cursor.execute(_properties_insert("e.timestamp >= %s AND e.timestamp < %s"),
                       [utc_day_start(day), utc_day_start(day + timedelta(days=1)), day])
        ColumnDay.objects.update_or_create(day=day, defaults={"events": events, "built_at": timezone.now(),
                                                              "layout": LAYOUT})
    return events


def columns_build(*, through: date | None = None, progress: Callable[[int, int, date], None] | None = None,
                  wait: bool = True, on_wait: Callable[[], None] | None = None) -> BuildResult:
    """Build the columns of every day that needs it, up to ``through`` (default and latest: the day before
    yesterday, UTC; later is ``TooRecent``).

    One build runs at a time. When another is running, ``on_wait()`` is called and this one waits for it to end, then
    builds what is left (usually nothing); with ``wait=False`` it returns at once with ``busy`` set, as the running
    build looks again for days that need it before it ends. ``progress(done, total, day)`` is called after each day
    (``total`` grows when a later look finds more). A no-op off PostgreSQL.
    """
    if not supported():
        return BuildResult(days=0, events=0)
    through = through or columns_build_through()
    _check_built_day(through)
    with _build_run_lock(wait=wait, on_wait=on_wait) as running:
        if not running:
            return BuildResult(days=0, events=0, busy=True)
        done = total = events = 0
        for _round in range(BUILD_ROUNDS):
            days = columns_days_to_build(through=through)
            if not days:
                break
            total += len(days)
            for day in days:
                events += columns_build_day(day)
                done += 1
                if progress:
                    progress(done, total, day)
    return BuildResult(days=done, events=events)


@contextmanager
def _build_run_lock(*, wait: bool, on_wait: Callable[[], None] | None) -> Iterator[bool]:
    """Hold the build's session lock while the block runs; yields False (without it) when it is taken and not
    ``wait``. A session lock is released when its connection closes too (a worker that died)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [BUILD_RUN_LOCK_KEY])
        held = cursor.fetchone()[0]
        if not held and wait:
            if on_wait:
                on_wait()
            cursor.execute("SELECT pg_advisory_lock(%s)", [BUILD_RUN_LOCK_KEY])
            held = True
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BUILD_RUN_LOCK_KEY])


# Reading


@contextmanager
def consistent_read() -> Iterator[None]:
    """One snapshot for a report's coverage and reads (REPEATABLE READ, read only): a write to a built day that
    commits between them is then either wholly seen (its change and its event) or not at all. Inside a caller's
    transaction (tests, a task's atomic block) that transaction's own isolation holds."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def binary_cursor() -> psycopg.Cursor:
    """A cursor on Django's connection that binds on the server and can ask for binary results (Django's own bind on
    the client, in text): packed arrays then arrive as bytes, not as hex text twice their size."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


class Property:
    """One property key over a name's events: ``codes[i]`` is event i's entry (0: the key is missing or JSON null),
    ``texts[c]`` the text of entry c (``texts[0]`` None), ``numbers[c]`` its value when it is a JSON number, else NaN
    (``numbers[0]`` NaN); or, for a key read for its numbers alone (``columns_read``'s ``numbers``), ``direct``: each
    event's number.

    Read from the columns, a key's events first carry ``ColumnValue`` ids (``raw``; a gap's values, read from the
    events, are entries of ``local`` carried as -(1 + their index)). ``text_in`` and ``present`` answer a filter from
    the ids alone (the values asked for are looked up, not the values seen); ``codes``, ``texts`` and ``numbers`` are
    made on first use, from the ids still there (after ``where``), one query for their texts."""

    def __init__(self, codes: np.ndarray | None = None, texts: list | None = None, numbers: np.ndarray | None = None,
                 direct: np.ndarray | None = None, *, raw: np.ndarray | None = None, key: str | None = None,
                 local: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        self._codes, self._texts, self._numbers = codes, texts, numbers
        self.direct, self.raw, self.key, self.local = direct, raw, key, local

    def where(self, mask: np.ndarray) -> Property:
        if self.direct is not None:
            return Property(texts=[None], numbers=np.full(1, np.nan), direct=self.direct[mask])
        if self._codes is None:
            return Property(raw=self.raw[mask], key=self.key, local=self.local)
        return Property(codes=self._codes[mask], texts=self._texts, numbers=self._numbers)

    def values(self) -> np.ndarray:
        """Each event's number (NaN when missing or not a JSON number)."""
        return self.direct if self.direct is not None else self.numbers[self.codes]

    @property
    def codes(self) -> np.ndarray:
        self._made()
        return self._codes

    @property
    def texts(self) -> list:
        self._made()
        return self._texts

    @property
    def numbers(self) -> np.ndarray:
        self._made()
        return self._numbers

    def present(self) -> np.ndarray:
        """Per event, whether it carries the key (not JSON null)."""
        return (self.raw if self._codes is None else self._codes) != 0

    def text_in(self, texts: Iterable[str]) -> np.ndarray:
        """Per event, whether its value's text is one of ``texts`` (a string or a JSON number of that text)."""
        texts = list(texts)
        if self._codes is not None:
            chosen = set(texts)
            return np.array([text in chosen for text in self._texts], bool)[self._codes]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {_VALUES} WHERE key = %s AND number = ANY(ARRAY[false, true]) "  # noqa: S608
                "AND md5(text) = ANY(ARRAY(SELECT md5(t) FROM unnest(%s::text[]) AS t)) AND text = ANY(%s::text[])",
                [self.key, texts, texts],
            )
            ids = np.array([row[0] for row in cursor.fetchall()], np.int64)
        hit = _id_hits(self.raw, ids)
        if self.local is not None and (self.raw < 0).any():
            local_hit = np.isin(self.local[0], np.array(texts, dtype=object))
            gap = self.raw < 0
            hit[gap] = local_hit[-self.raw[gap] - 1]
        return hit

    def _made(self) -> None:
        if self._codes is None and self.direct is None:
            self._codes, self._texts, self._numbers = _entries(self.raw, self.key, self.local)


@dataclass
class Columns:
    """One event name's events: person ids, times (µs since 2000-01-01 UTC), event ids, channel positions into
    ``channels`` (the channel text as stored, "" for none), and the property keys that were asked for."""

    persons: np.ndarray
    times: np.ndarray
    ids: np.ndarray
    codes: np.ndarray
    channels: list[str]
    properties: dict[str, Property] = field(default_factory=dict)

    @classmethod
    def empty(cls, keys: Iterable[str] = ()) -> Columns:
        nothing = np.empty(0, np.int64)
        return cls(persons=nothing, times=nothing, ids=nothing, codes=np.empty(0, np.int32), channels=[],
                   properties={key: Property(codes=np.empty(0, np.int32), texts=[None], numbers=np.full(1, np.nan))
                               for key in keys})

    def __len__(self) -> int:
        return len(self.times)

    def where(self, mask: np.ndarray) -> Columns:
        def cut(array):
            return array[mask] if len(array) else array

        return Columns(persons=cut(self.persons), times=self.times[mask], ids=cut(self.ids), codes=cut(self.codes),
                       channels=self.channels,
                       properties={key: column.where(mask) for key, column in self.properties.items()})


@dataclass(frozen=True)
class Coverage:
    """How ``[lo, hi)`` is read: ``days`` (whole UTC days inside it) from their columns, ``edges`` (built UTC days
    the range cuts: a local day's range starts and ends inside UTC days) from their columns too, keeping only the
    events inside ``[lo, hi)``, and ``gaps`` (half-open instants) from the events."""

    days: list[date]
    gaps: list[tuple[datetime, datetime]]
    edges: list[date] = field(default_factory=list)
    lo: datetime | None = None
    hi: datetime | None = None


def columns_coverage(*, lo: datetime, hi: datetime) -> Coverage:
    if hi <= lo:
        return Coverage(days=[], gaps=[], lo=lo, hi=hi)
    first = lo.astimezone(UTC).date()  # the UTC days the range touches
    last = (hi.astimezone(UTC) - timedelta(microseconds=1)).date()
    built = ColumnDay.objects.filter(day__gte=first, day__lte=last, layout=LAYOUT)
    changed = ColumnChange.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True).distinct()
    covered = sorted(set(built.values_list("day", flat=True)) - set(changed))
    days = [day for day in covered if utc_day_start(day) >= lo and utc_day_start(day + timedelta(days=1)) <= hi]
    edges = [day for day in covered if day not in days]
    gaps, cursor = [], lo
    for day in covered:
        start = max(utc_day_start(day), lo)
        if start > cursor:
            gaps.append((cursor, start))
        cursor = min(utc_day_start(day + timedelta(days=1)), hi)
    if cursor < hi:
        gaps.append((cursor, hi))
    return Coverage(days=days, gaps=gaps, edges=edges, lo=lo, hi=hi)


# A report reads columns for a range unless it would hold too much in memory, or too much of it is not built yet
# (read from the events instead, a fresh install before its first night): then it runs in the database, whose memory
# is PostgreSQL's work_mem and whose time is the request's statement timeout (ops_platform/core/db.py).
# Memory per report request: at most MAX_REPORT_BYTES of event arrays in the web worker. The bound is checked on the
# hourly counts of the report's own event names in the range (``events_in``: whole hours, so a little more than the
# arrays actually read). BYTES_PER_EVENT is the measured peak of the whole computation per event read
# (persons and times, ids and channel codes of the entry step, the copies made while unpacking and matching): 46 bytes
# for a 3-step funnel with a breakdown where every event is a step (tracemalloc, tests/analytics/test_columns.py
# checks the marginal cost stays under it: 43 bytes between 15,000 and 45,000 events). Was 30,000,000 events at
# "about 40 bytes": 1.2 GB, and 46 bytes measured.
MAX_REPORT_BYTES = 1_000_000_000
BYTES_PER_EVENT = 48
MAX_EVENTS = MAX_REPORT_BYTES // BYTES_PER_EVENT  # 20,833,333
MAX_UNBUILT = 2_000_000


def columns_fit(*, lo: datetime, hi: datetime, names: Iterable[str] | None = None) -> bool:
    """Whether reading ``[lo, hi)`` from the columns is the fast way (see ``MAX_EVENTS`` and ``MAX_UNBUILT``), weighed
    by the hourly counts of the report's own event ``names`` (every event without them): a fresh install's retention
    of ``order_paid`` reads a tenth of what is stored. The counts are the triggers' (exact), by whole hours."""
    if not supported() or events_in([(lo, hi)], names) > MAX_EVENTS:
        return False
    return events_in(columns_coverage(lo=lo, hi=hi).gaps, names) <= MAX_UNBUILT


def _spans(gaps: list[tuple[datetime, datetime]]) -> tuple[str, list]:
    """The events (alias ``e``) inside any of the half-open ``gaps``, as SQL and its parameters."""
    return (" OR ".join(["(e.timestamp >= %s AND e.timestamp < %s)"] * len(gaps)),
            [moment for gap in gaps for moment in gap])


def events_in(gaps: Iterable[tuple[datetime, datetime]], names: Iterable[str] | None = None) -> int:
    """About how many events (of ``names``, else of every name) the instants hold: the hourly counts of the hours
    they touch, in one query."""
    spans = Q()
    for a, b in gaps:
        spans |= Q(hour__gt=a - timedelta(hours=1), hour__lt=b)
    if not spans:
        return 0
    hours = EventCountHourly.objects.filter(spans)
    if names is not None:
        hours = hours.filter(event__in=sorted(set(names)))
    return hours.aggregate(events=Sum("events"))["events"] or 0


def columns_read(*, names: Iterable[str], coverage: Coverage, full: Iterable[str] = (),
                 persons: bool = True, properties: Mapping[str, Iterable[str]] | None = None,
                 numbers: Mapping[str, Iterable[str]] | None = None) -> dict[str, Columns]:
    """Every event of ``names`` in the covered range: from the columns of its days and the events of its gaps.

    Event ids and channels are read only for the names in ``full`` (the others' are empty): a funnel needs them of its
    entry step alone, and they are a third of the bytes. Rows are streamed and unpacked one at a time, so the packed
    bytes of the whole range are never held at once (a funnel over 10M events peaks near 0.3 GB less). Without
    ``persons`` the person ids are not read either (empty): a count by time (golden time) needs the times alone.
    ``properties``: per name, the property keys to read (``Columns.properties``), dictionary-encoded; ``numbers``: per
    name, keys read for their numbers alone (a sum or an average: no texts, no dictionary; ``Property.direct``)."""
    names, full = sorted(set(names)), sorted(set(full))
    wanted = {name: sorted(set((properties or {}).get(name, ()))) for name in names}
    valued = {name: sorted(set((numbers or {}).get(name, ())) - set(wanted[name])) for name in names}
    keys = sorted({key for name in names for key in [*wanted[name], *valued[name]]})
    number_keys = sorted({key for name in names for key in valued[name]} - {key for name in names
                                                                           for key in wanted[name]})
    text_keys = sorted({key for name in names for key in wanted[name]} - {key for name in names
                                                                         for key in valued[name]})
    parts: dict[str, _Parts] = {name: _Parts(full=name in full, persons=persons, keys=wanted[name],
                                             number_keys=valued[name]) for name in names}
    with connection.wrap_database_errors, binary_cursor() as cursor:  # Django's exceptions, as from its own cursors
        days = [*coverage.days, *coverage.edges]
        edges = set(coverage.edges)
        bounds = (us_2000(coverage.lo), us_2000(coverage.hi)) if edges else None
        if days:
            blocks: dict[tuple, dict] = {}
            if keys:
                for day, event, key, *arrays in cursor.stream(
                    "SELECT day, event, key, rows, CASE WHEN key <> ALL(%s) THEN codes END, "  # noqa: S608
                    f"CASE WHEN key <> ALL(%s) THEN numbers END FROM {ColumnProperty._meta.db_table} "
                    "WHERE event = ANY(%s) AND key = ANY(%s) AND day = ANY(%s)",
                    [number_keys, text_keys, names, keys, days], binary=True,
                ):
                    if key in wanted[event] or key in valued[event]:
                        blocks.setdefault((day, event), {})[key] = arrays  # rows (None: every event), codes, numbers
            for day, event, channels, *arrays in cursor.stream(
                "SELECT day, event, channels::text, CASE WHEN %s THEN persons END, times, "  # noqa: S608
                "CASE WHEN event = ANY(%s) THEN ids END, CASE WHEN event = ANY(%s) THEN codes END "
                f"FROM {ColumnBlock._meta.db_table} WHERE event = ANY(%s) AND day = ANY(%s)",
                [persons, full, full, names, days], binary=True,
            ):
                parts[event].add(channels, *arrays, properties=blocks.pop((day, event), {}),
                                 within=bounds if day in edges else None)
        if coverage.gaps:
            spans, span_params = _spans(coverage.gaps)
            select, key_params = _gap_select(keys)
            for event, *arrays in cursor.stream(
                select + f" WHERE e.event = ANY(%s) AND ({spans}) GROUP BY e.event",
                [full, full, *key_params, names, *span_params], binary=True,
            ):
                parts[event].add_rows(*arrays[:4], dict(zip(keys, zip(arrays[4::2], arrays[5::2], strict=True),
                                                            strict=True)))
    return {name: parts.pop(name).columns() for name in names}


def _numbers_of(texts: pd.Series) -> np.ndarray:
    """JSON numbers' texts as float64; one float8 cannot hold is NaN, as the build keeps it (``_NUMBER_SQL``)."""
    parsed = pd.to_numeric(texts, errors="coerce").to_numpy(np.float64)
    return np.where(np.isfinite(parsed), parsed, np.nan)


class _Dictionary:
    """One property key's values across blocks and gaps. A block's events carry ``ColumnValue`` ids (positive); a
    gap's values (read from the events) are entries of ``texts`` here, carried as -(1 + their index). At the end the
    ids seen are looked up (one query), and the gaps' entries merged with them when the gaps hold any."""

    def __init__(self):
        self.texts: list[str] = []
        self.kinds: list[np.ndarray] = []  # per entry of texts: a JSON number
        self.numbers: list[np.ndarray] = []
        self.pieces: list[np.ndarray] = []  # per event: 0 (missing), an id, or -(1 + index into texts)

    def add(self, rows: int, arrays: tuple | None) -> None:
        """A built block's key (``ColumnProperty``'s rows, codes and numbers; None: no event of the block carries
        it)."""
        dense = np.zeros(rows, np.int32)
        if arrays is not None:
            _put(dense, arrays[0], np.frombuffer(arrays[1], ">i4"))
        self.pieces.append(dense)

    def add_values(self, values: list, number_bytes: bytes) -> None:
        """Events read from the events table: each one's text (None: missing or null) and number flag."""
        texts = pd.Series(values, dtype=object)
        present = texts.notna().to_numpy()
        is_number = np.frombuffer(number_bytes, np.uint8).astype(bool)
        dense = np.zeros(len(texts), np.int32)
        if present.any():
            local, uniques = _factorize_kinds(texts[present].to_numpy(), is_number[present])
            dense[present] = -(local + 1 + len(self.texts))
            numbers = np.full(len(uniques[0]), np.nan)
            if uniques[1].any():
                numbers[uniques[1]] = _numbers_of(pd.Series(uniques[0][uniques[1]], dtype=object))
            self.texts.extend(uniques[0].tolist())
            self.kinds.append(uniques[1])
            self.numbers.append(numbers)
        self.pieces.append(dense)

    def column(self, key: str) -> Property:
        raw = _joined(self.pieces) if self.pieces else np.empty(0, np.int32)
        local = None
        if self.texts:
            local = (np.asarray(self.texts, dtype=object), np.concatenate(self.kinds), np.concatenate(self.numbers))
        return Property(raw=raw, key=key, local=local)


def _id_hits(raw: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per event, whether its code is one of ``ids`` (a table indexed by id when they are few enough)."""
    top = int(ids.max(initial=0))
    if top > _ID_TABLE:
        return np.isin(raw, ids)
    table = np.zeros(top + 2, bool)  # the last entry: every code past ``top`` (and gaps' negative ones, clipped)
    table[ids] = True
    return table[np.clip(raw, 0, top + 1)]


def _put(dense: np.ndarray, row_bytes: bytes | None, values: np.ndarray) -> None:
    """A block's values placed at their rows (None: at every row)."""
    if row_bytes is None:
        dense[:] = values
    else:
        dense[np.frombuffer(row_bytes, ">i4")] = values


def _entries(raw: np.ndarray, key: str, local) -> tuple[np.ndarray, list, np.ndarray]:
    """A key's events' ``ColumnValue`` ids (and gap entries, see ``Property``) as entries: per event its entry (0:
    missing), each entry's text and number. One entry per distinct (text, kind): a gap's value may be one an id
    names."""
    gap = raw < 0
    if gap.any():
        gap_codes, gap_seen = pd.factorize(-raw[gap] - 1)
        gap_seen = np.asarray(gap_seen, np.int64)
    else:
        gap_codes, gap_seen = np.empty(0, np.int64), np.empty(0, np.int64)
    ids_of = np.maximum(raw, 0)
    top = int(ids_of.max(initial=0))
    if top <= _ID_TABLE:  # the ids seen by a count over every id up to the largest: no hashing of the events
        ids = np.flatnonzero(np.bincount(ids_of, minlength=top + 1)[1:]) + 1
    else:
        ids = np.asarray(pd.unique(ids_of[ids_of > 0]), np.int64)
    texts, is_number, numbers = _values_of(key, ids)
    if len(gap_seen):
        texts = np.concatenate([texts, local[0][gap_seen]])
        is_number = np.concatenate([is_number, local[1][gap_seen]])
        numbers = np.concatenate([numbers, local[2][gap_seen]])
    entry, (entry_texts, _kinds) = _factorize_kinds(texts, is_number)
    entry_numbers = np.full(len(entry_texts) + 1, np.nan)
    entry_numbers[entry + 1] = numbers
    if top <= _ID_TABLE:
        table = np.zeros(top + 1, np.int32)
        table[ids] = entry[:len(ids)] + 1
        codes = table[ids_of]
    else:
        codes = np.zeros(len(raw), np.int32)
        present = ids_of > 0
        order = np.argsort(ids)
        codes[present] = entry[:len(ids)][order[np.searchsorted(ids, ids_of[present], sorter=order)]] + 1
    if len(gap_seen):
        codes[gap] = entry[len(ids):][gap_codes] + 1
    return codes, [None, *entry_texts.tolist()], entry_numbers


def _factorize_kinds(texts: np.ndarray, is_number: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``pd.factorize`` of (text, is a JSON number) pairs: each pair's code and the distinct pairs' texts and kinds
    (a string "12" and a number 12 are two entries)."""
    if not len(texts):
        return np.empty(0, np.int64), (np.empty(0, dtype=object), np.empty(0, bool))
    by_text, distinct_texts = pd.factorize(texts)
    code, pairs = pd.factorize(by_text.astype(np.int64) * 2 + is_number)
    return code, (np.asarray(distinct_texts, dtype=object)[pairs // 2], (pairs % 2).astype(bool))


def _values_of(key: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text, kind and number of each ``ColumnValue`` id of ``key``, in the order given (one query)."""
    if not len(ids):
        return np.empty(0, dtype=object), np.empty(0, bool), np.empty(0, np.float64)
    with connection.wrap_database_errors, binary_cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(int4send(id), ''), array_agg(text), string_agg(CASE WHEN number THEN "  # noqa: S608
            "'\\x01'::bytea ELSE '\\x00'::bytea END, ''), string_agg(float8send(value), '') "
            f"FROM {_VALUES} WHERE key = %s AND id = ANY(%s::int4[])",
            [key, "{" + ",".join(map(str, ids.tolist())) + "}"], binary=True,  # text: a list dumps int by int
        )
        found, texts, kinds, numbers = cursor.fetchone()
    if found is None or len(found) != 4 * len(ids):  # values are only deleted with every event (TRUNCATE)
        raise RuntimeError("The events were emptied while this report ran: run it again.")
    # The aggregates see the rows in one order, not the order asked: placed by id.
    at = np.argsort(np.frombuffer(found, ">i4"))[np.searchsorted(np.sort(np.frombuffer(found, ">i4")), ids)]
    return (np.asarray(texts, dtype=object)[at], np.frombuffer(kinds, np.uint8).astype(bool)[at],
            np.frombuffer(numbers, ">f8").astype(np.float64)[at])


class _Numbers:
    """One property key read for its numbers alone: each event's value (NaN: missing or not a JSON number)."""

    def __init__(self):
        self.pieces: list[np.ndarray] = []

    def add(self, rows: int, arrays: tuple | None) -> None:
        values = np.full(rows, np.nan)
        if arrays is not None and arrays[2] is not None:
            _put(values, arrays[0], np.frombuffer(arrays[2], ">f8"))
        self.pieces.append(values)

    def add_values(self, texts: list, number_bytes: bytes) -> None:
        values = np.full(len(texts), np.nan)
        is_number = np.frombuffer(number_bytes, np.uint8).astype(bool)
        if is_number.any():
            values[is_number] = _numbers_of(pd.Series(texts, dtype=object)[is_number])
        self.pieces.append(values)

    def column(self, _key: str) -> Property:
        return Property(texts=[None], numbers=np.full(1, np.nan),
                        direct=_joined(self.pieces) if self.pieces else np.empty(0, np.float64))


class _Parts:
    """One event name's rows as they arrive: native arrays, channel positions mapped to one shared list."""

    def __init__(self, *, full: bool, persons: bool = True, keys: Iterable[str] = (), number_keys: Iterable[str] = ()):
        self.full, self.with_persons = full, persons
        self.channels: dict[str, int] = {}
        self.persons: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.ids: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.dictionaries: dict[str, _Dictionary | _Numbers] = {key: _Dictionary() for key in keys}
        self.dictionaries.update({key: _Numbers() for key in number_keys})

    def add(self, dictionary: str, person_bytes: bytes, time_bytes: bytes, id_bytes: bytes | None,
            code_bytes: bytes | None, *, properties: Mapping[str, list] | None = None,
            within: tuple[int, int] | None = None) -> None:
        """One block; ``within``: keep only its events at those times (µs since 2000, half-open): a cut day."""
        if self.with_persons:
            self.persons.append(np.frombuffer(person_bytes, ">i8").astype(np.int64))
        self.times.append(np.frombuffer(time_bytes, ">i8").astype(np.int64))
        if self.full:
            to_shared = np.array([self.channels.setdefault(value, len(self.channels))
                                  for value in json.loads(dictionary)], np.int32)
            self.ids.append(np.frombuffer(id_bytes, ">i8").astype(np.int64))
            self.codes.append(to_shared[np.frombuffer(code_bytes, ">i4") - 1])
        for key, dictionary_of_key in self.dictionaries.items():
            dictionary_of_key.add(len(self.times[-1]), (properties or {}).get(key))
        if within is not None:
            keep = (self.times[-1] >= within[0]) & (self.times[-1] < within[1])
            kept = [self.times, *([self.persons] if self.with_persons else []),
                    *([self.ids, self.codes] if self.full else []), *(d.pieces for d in self.dictionaries.values())]
            for pieces in kept:
                pieces[-1] = pieces[-1][keep]

    def add_rows(self, person_bytes: bytes, time_bytes: bytes, id_bytes: bytes | None, channels: list | None,
                 properties: Mapping[str, tuple]) -> None:
        """One name's events read from the events table (``_gap_select``), in the block's form."""
        if self.with_persons:
            self.persons.append(np.frombuffer(person_bytes, ">i8").astype(np.int64))
        self.times.append(np.frombuffer(time_bytes, ">i8").astype(np.int64))
        if self.full:
            local, uniques = pd.factorize(pd.Series(channels, dtype=object).fillna(""))
            to_shared = np.array([self.channels.setdefault(value, len(self.channels)) for value in uniques], np.int32)
            self.ids.append(np.frombuffer(id_bytes, ">i8").astype(np.int64))
            self.codes.append(to_shared[local] if len(to_shared) else local.astype(np.int32))
        for key, dictionary_of_key in self.dictionaries.items():
            dictionary_of_key.add_values(*properties[key])

    def columns(self) -> Columns:
        if not self.times:
            return Columns.empty(self.dictionaries)
        empty = Columns.empty()
        return Columns(persons=_joined(self.persons) if self.with_persons else empty.persons, times=_joined(self.times),
                       ids=_joined(self.ids) if self.full else empty.ids,
                       codes=_joined(self.codes) if self.full else empty.codes, channels=list(self.channels),
                       properties={key: dictionary.column(key) for key, dictionary in self.dictionaries.items()})


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """One array of the pieces, freeing each piece as soon as it is copied."""
    joined = np.empty(sum(len(piece) for piece in arrays), arrays[0].dtype)
    at = 0
    while arrays:
        piece = arrays.pop(0)
        joined[at:at + len(piece)] = piece
        at += len(piece)
    return joined
