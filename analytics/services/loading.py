"""Set-based writes of events: the one path every writer (ingest API, import, demo data, benchmarks) uses.

Input rows are already validated. On PostgreSQL a batch takes two statements: one creates the people it names, one
``INSERT … SELECT … FROM unnest(arrays) ON CONFLICT (uuid) DO NOTHING`` stores the events (distinct ids mapped to
compact person ids) and, from the rows it stored, keeps the first-touch facts up to date; the events table's triggers
add the hourly counts per name (migration 0018). On SQLite (the embedded default) plain inserts, the same merge and
``event_counts_add`` do the same job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from uuid import UUID

import orjson
from django.db import connection, transaction
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.models import Event, Person
from analytics.services.columns import binary_cursor
from analytics.services.facts import (
    FACT_EVENTS_SQL,
    MERGE_SQL,
    PERSONS_ADD_SQL,
    event_counts_add,
    event_counts_of_new_rows,
    person_facts_merge,
)

SQLITE_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class EventRow:
    uuid: UUID
    event: str
    distinct_id: str
    timestamp: datetime
    properties: dict

    @property
    def channel(self) -> str:
        value = self.properties.get("channel")
        return str(value)[:100] if value not in (None, "") else ""


@dataclass(frozen=True)
class LoadResult:
    inserted: int
    duplicates: int


def _unique_by_uuid(rows: Iterable[EventRow]) -> list[EventRow]:
    seen: set[UUID] = set()
    unique = []
    for row in rows:
        if row.uuid not in seen:
            seen.add(row.uuid)
            unique.append(row)
    return unique


def events_load(rows: Iterable[EventRow]) -> LoadResult:
    """Store events once each: a uuid already stored, or repeated in ``rows``, counts as a duplicate.

    Each call is one batch: its people commit first, then its events in one transaction (savepoints inside a
    caller's transaction), and two concurrent batches cannot deadlock. Several calls inside one caller's transaction
    hold the earlier ones' locks until it ends: only one such transaction should write at a time (``import_events``
    commits each chunk).
    """
    rows = list(rows)
    unique = _unique_by_uuid(rows)
    if not unique:
        return LoadResult(inserted=0, duplicates=len(rows))
    load = _load_postgresql if connection.vendor == "postgresql" else _load_generic
    inserted = load(unique)
    return LoadResult(inserted=inserted, duplicates=len(rows) - inserted)


def _chunks(items: list, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _properties_json(properties: dict) -> str:
    try:
        return orjson.dumps(properties, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # a type orjson does not know: the standard library decides, as before
        return json.dumps(properties, ensure_ascii=False)


# PostgreSQL: two statements a batch. The batch travels as one array parameter per column, in binary (``%b``: text
# arrays would be quoted element by element in Python), so there is no staging table to create and drop.
#
# The people come first, in their own statement and, unless the caller holds a transaction open, their own short
# transaction: a load that meets a person another load has just created waits for that load to commit, and waiting
# for its whole batch had been the endpoint's main wait (bench/ingest_http.py). A batch that fails after this leaves
# the people it created, with no events yet; a retry uses them. The people counter is kept in the same statement.
PERSONS_SQL = f"""
WITH created AS (
    INSERT INTO {Person._meta.db_table} (distinct_id, created_at)
    -- In a fixed order, so concurrent loads with overlapping people queue instead of deadlocking.
    SELECT d, %s FROM unnest(%b::text[]) AS d ORDER BY d
    ON CONFLICT (distinct_id) DO NOTHING
    RETURNING 1
),
counted AS ({PERSONS_ADD_SQL.format(source="created")})
SELECT count(*) FROM created
"""  # noqa: S608 - only table and column names are formatted in; values travel as parameters
# One statement stores the events and, from the rows it stored (not the duplicates), merges the first-touch facts; the
# hourly counts per name are added by the events table's triggers at the end of the statement (migration 0018), so
# the shared counter rows are locked from then until the commit, as briefly as before. Each person is looked up once
# per row by a scalar subquery (an index probe); a join planned on guesses about the unnested arrays once scanned the
# whole people table. The merge is not read by the outer query, so PostgreSQL runs it at the end of the statement.
#
# The rows take their ids in the batch's order (``batch`` calls ``nextval`` once per row as it unnests, and a CTE with
# a volatile function is evaluated once, in scan order): of two events at the same time, the one sent first has the
# lower id, which the reports' tie-breaks read. They are then inserted in uuid order, so two loads that share events
# (a retry racing its original, in any order) wait on each other's uuids in one global order and cannot deadlock.
# The sequence PostgreSQL names for the identity column (checked by a test). Calling ``nextval`` on it needs USAGE on
# the sequence, which the role that ran the migrations (the owner) has; a role granted only table rights needs it too.
EVENT_ID_SEQUENCE = f"{Event._meta.db_table}_id_seq"
_STORED = f"""
WITH batch AS (
    SELECT nextval('{EVENT_ID_SEQUENCE}') AS id, b.*
    FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[])
        AS b (uuid, event, distinct_id, timestamp, channel, properties)
),
stored AS (
    INSERT INTO {Event._meta.db_table} AS e
        (id, uuid, event, distinct_id, person_id, timestamp, channel, properties, received_at)
    SELECT b.id, b.uuid, b.event, b.distinct_id,
           (SELECT COALESCE(p.merged_into, p.id) FROM {Person._meta.db_table} AS p
            WHERE p.distinct_id = b.distinct_id),
           b.timestamp, b.channel, b.properties::jsonb, %s
    FROM batch AS b
    ORDER BY b.uuid
    ON CONFLICT (uuid) DO NOTHING
    RETURNING e.id, e.person_id, e.event, e.timestamp, e.channel
),
facts AS ({{merge}})
SELECT count(*) FROM stored
"""  # noqa: S608 - only table and column names are formatted in; values travel as parameters
STORE_SQL = _STORED.format(
    merge=MERGE_SQL.format(source="SELECT id, person_id, event, timestamp, channel FROM stored "  # noqa: S608
                                  f"WHERE event IN ({FACT_EVENTS_SQL})"),
)


def _load_postgresql(rows: list[EventRow]) -> int:
    now = timezone.now()
    with connection.wrap_database_errors:
        with transaction.atomic(), binary_cursor() as cursor:
            cursor.execute(PERSONS_SQL, (now, sorted({row.distinct_id for row in rows})))
        with transaction.atomic(), binary_cursor() as cursor:
            cursor.execute(STORE_SQL, (
                [row.uuid for row in rows], [row.event for row in rows], [row.distinct_id for row in rows],
                [row.timestamp for row in rows], [row.channel for row in rows],
                [_properties_json(row.properties) for row in rows], now,
            ))
            return cursor.fetchone()[0]


# The person a distinct id's events belong to: itself, or the person it was merged into (services/identity.py).
_PERSON_OF = Coalesce("merged_into", "id", output_field=BigIntegerField())


def persons_create(distinct_ids: list[str]) -> None:
    """Create the people missing among ``distinct_ids`` (the identity links' ids), keeping the people counter."""
    if connection.vendor == "postgresql":
        with connection.wrap_database_errors, transaction.atomic(), binary_cursor() as cursor:
            cursor.execute(PERSONS_SQL, (timezone.now(), sorted(set(distinct_ids))))
        return
    _mapping, created = persons_ensure(distinct_ids)
    if created:
        event_counts_add(hourly=[], new_persons=created)


def persons_ensure(distinct_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """Map distinct ids to person ids, creating the missing people (bulk, conflict-safe).

    Returns the mapping and how many people this call created (counted only when some were missing).
    """
    wanted = sorted(set(distinct_ids))
    mapping: dict[str, int] = {}
    for chunk in _chunks(wanted, SQLITE_CHUNK):
        mapping.update(Person.objects.filter(distinct_id__in=chunk).values_list("distinct_id", _PERSON_OF))
    missing = [distinct_id for distinct_id in wanted if distinct_id not in mapping]
    created = 0
    if missing:
        before = Person.objects.count()
        Person.objects.bulk_create([Person(distinct_id=d) for d in missing], batch_size=SQLITE_CHUNK,
                                   ignore_conflicts=True)
        for chunk in _chunks(missing, SQLITE_CHUNK):
            mapping.update(Person.objects.filter(distinct_id__in=chunk).values_list("distinct_id", _PERSON_OF))
        created = Person.objects.count() - before  # another writer may have created some of them
    return mapping, created


@transaction.atomic
def _load_generic(rows: list[EventRow]) -> int:
    """SQLite (the embedded default): one executemany of plain INSERTs, then the facts of the new rows.

    SQLite has one writer at a time, so the rows this call stores are those with an id above the highest id
    before it (a row another writer slipped in would be merged too, which the merge allows).
    """
    existing: set[UUID] = set()
    for chunk in _chunks([row.uuid for row in rows], SQLITE_CHUNK):
        existing.update(Event.objects.filter(uuid__in=chunk).values_list("uuid", flat=True))
    fresh = [row for row in rows if row.uuid not in existing]
    if not fresh:
        return 0
    people, new_persons = persons_ensure(row.distinct_id for row in fresh)
    last_id = Event.objects.aggregate(last=Max("id"))["last"] or 0
    adapt = connection.ops.adapt_datetimefield_value
    received_at = adapt(timezone.now())
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Event._meta.db_table} (uuid, event, distinct_id, person_id, timestamp, channel, "  # noqa: S608
            "properties, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (uuid) DO NOTHING",
            [(row.uuid.hex, row.event, row.distinct_id, people[row.distinct_id], adapt(row.timestamp), row.channel,
              _properties_json(row.properties), received_at) for row in fresh],
        )
    person_facts_merge(
        source_sql=(f"SELECT id, person_id, event, timestamp, channel FROM {Event._meta.db_table} "  # noqa: S608
                    f"WHERE id > %s AND event IN ({FACT_EVENTS_SQL})"),
        params=[last_id],
    )
    event_counts_add(hourly=event_counts_of_new_rows(id_above=last_id), new_persons=new_persons)
    return len(fresh)
