"""Set-based writes of events: the one path every writer (ingest API, import, demo data, benchmarks) uses.

Input rows are already validated. On PostgreSQL rows go through ``COPY`` into a temporary table and one
``INSERT … SELECT … ON CONFLICT (uuid) DO NOTHING``; distinct ids are mapped to compact person ids in the
same set-based way. On SQLite (the embedded default) the ORM's bulk writes do the same job.
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
from django.db.models import Max
from django.utils import timezone

from analytics.models import Event, Person
from analytics.services.facts import event_counts_add, event_counts_of_new_rows, person_facts_merge

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
    """Store events once each: a uuid already stored, or repeated in ``rows``, counts as a duplicate."""
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


@transaction.atomic
def _load_postgresql(rows: list[EventRow]) -> int:
    now = timezone.now()
    with connection.cursor() as cursor:
        # Binary COPY: uuids and times are packed, not formatted as text (a few ms less Python per 1,000 rows);
        # properties travel as JSON text and become jsonb in the insert below.
        cursor.execute(
            "CREATE TEMPORARY TABLE _event_load (uuid uuid, event varchar(200), distinct_id varchar(200), "
            "timestamp timestamptz, channel varchar(100), properties text) ON COMMIT DROP"
        )
        with cursor.copy(
            "COPY _event_load (uuid, event, distinct_id, timestamp, channel, properties) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["uuid", "varchar", "varchar", "timestamptz", "varchar", "text"])
            for row in rows:
                copy.write_row((row.uuid, row.event, row.distinct_id, row.timestamp, row.channel,
                                _properties_json(row.properties)))
        cursor.execute(
            "INSERT INTO analytics_person (distinct_id, created_at) "
            # In a fixed order, so concurrent loads with overlapping people queue instead of deadlocking.
            "SELECT DISTINCT distinct_id, %s::timestamptz FROM _event_load ORDER BY distinct_id "
            "ON CONFLICT (distinct_id) DO NOTHING",
            [now],
        )
        # People are looked up in the insert itself, one index probe per row (no UPDATE of the staging table).
        # A scalar subquery rather than a join: the staging table has no statistics, and a join planned on
        # guesses scanned the whole people table for every batch.
        new_persons = cursor.rowcount
        # The insert returns the times of the rows it stored (not the duplicates), counted per UTC hour.
        cursor.execute(
            "WITH stored AS (INSERT INTO analytics_event (uuid, event, distinct_id, person_id, timestamp, channel, "
            "properties, received_at) SELECT l.uuid, l.event, l.distinct_id, "
            "(SELECT p.id FROM analytics_person AS p WHERE p.distinct_id = l.distinct_id), "
            "l.timestamp, l.channel, l.properties::jsonb, %s FROM _event_load AS l ON CONFLICT (uuid) DO NOTHING "
            "RETURNING timestamp) "
            "SELECT date_trunc('hour', timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*) FROM stored "
            "GROUP BY 1",
            [now],
        )
        hourly = cursor.fetchall()
        inserted = sum(count for _hour, count in hourly)
        person_facts_merge(source_sql=(
            "SELECT e.id, e.person_id, e.event, e.timestamp, e.channel FROM analytics_event AS e "
            "JOIN _event_load AS l ON l.uuid = e.uuid WHERE e.event IN ('visit', 'signup', 'order_paid')"))
        cursor.execute("DROP TABLE _event_load")
    event_counts_add(hourly=hourly, new_persons=new_persons)  # last: the shared rows are locked briefly
    return inserted


def persons_ensure(distinct_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """Map distinct ids to person ids, creating the missing people (bulk, conflict-safe).

    Returns the mapping and how many people this call created (counted only when some were missing).
    """
    wanted = sorted(set(distinct_ids))
    mapping: dict[str, int] = {}
    for chunk in _chunks(wanted, SQLITE_CHUNK):
        mapping.update(Person.objects.filter(distinct_id__in=chunk).values_list("distinct_id", "id"))
    missing = [distinct_id for distinct_id in wanted if distinct_id not in mapping]
    created = 0
    if missing:
        before = Person.objects.count()
        Person.objects.bulk_create([Person(distinct_id=d) for d in missing], batch_size=SQLITE_CHUNK,
                                   ignore_conflicts=True)
        for chunk in _chunks(missing, SQLITE_CHUNK):
            mapping.update(Person.objects.filter(distinct_id__in=chunk).values_list("distinct_id", "id"))
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
                    "WHERE id > %s AND event IN ('visit', 'signup', 'order_paid')"),
        params=[last_id],
    )
    event_counts_add(hourly=event_counts_of_new_rows(id_above=last_id), new_persons=new_persons)
    return len(fresh)
