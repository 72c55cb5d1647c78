"""Per-customer first-touch facts, kept up to date as events arrive.

``PersonFacts`` holds, per person, what AARRR and the customer pages ask of all history: the first-ever
visit (time, id, channel), the first sign-up and the first paid order. Every write of events merges the
stored rows of the batch into the facts in one set-based statement; the merge keeps the earlier of the
stored and the new fact (ties by event id), so it is commutative and idempotent: concurrent loads, retried
batches and duplicates all leave the facts the events define. ``person_facts_rebuild`` recomputes them from
all events (after a bulk load that bypassed ``events_load``, or to check).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncHour

from analytics.models import Event, EventCountHourly, Person, PersonFacts, Tally

FACT_EVENTS = ("visit", "signup", "order_paid")
FACT_EVENTS_SQL = ", ".join(f"'{name}'" for name in FACT_EVENTS)  # for ``event IN (…)`` in the merge's sources


def _earlier_visit(new: str, old: str) -> str:
    """SQL: ``new``'s first visit is earlier than ``old``'s (ties by event id), or ``old`` has none."""
    return (f"({new}.first_visit_at IS NOT NULL AND ({old}.first_visit_at IS NULL "
            f"OR {new}.first_visit_at < {old}.first_visit_at OR ({new}.first_visit_at = {old}.first_visit_at "
            f"AND {new}.first_visit_id < {old}.first_visit_id)))")


def _is_earlier(column: str, new: str, old: str) -> str:
    return f"({new}.{column} IS NOT NULL AND ({old}.{column} IS NULL OR {new}.{column} < {old}.{column}))"


def _makes_earlier(new: str, old: str) -> str:
    """SQL: ``new`` moves at least one of ``old``'s facts earlier."""
    return (f"{_earlier_visit(new, old)} OR {_is_earlier('first_signup_at', new, old)} "
            f"OR {_is_earlier('first_order_at', new, old)}")


def _earlier(column: str) -> str:
    return (f"CASE WHEN f.{column} IS NULL OR excluded.{column} < f.{column} THEN excluded.{column} "
            f"ELSE f.{column} END")


_EARLIER_VISIT = _earlier_visit("excluded", "f")

# How an upsert into the facts (aliased ``f``) keeps the earlier of the stored and the new facts (also the identity
# merge's, which folds a merged person's facts into the kept person's).
FACTS_KEEP_EARLIER = f"""ON CONFLICT (person_id) DO UPDATE SET
    first_channel = CASE WHEN {_EARLIER_VISIT} THEN excluded.first_channel ELSE f.first_channel END,
    first_visit_id = CASE WHEN {_EARLIER_VISIT} THEN excluded.first_visit_id ELSE f.first_visit_id END,
    first_visit_at = CASE WHEN {_EARLIER_VISIT} THEN excluded.first_visit_at ELSE f.first_visit_at END,
    first_signup_at = {_earlier("first_signup_at")},
    first_order_at = {_earlier("first_order_at")}
WHERE {_makes_earlier("excluded", "f")}"""

# {source} selects (id, person_id, event, timestamp, channel) of stored events; both SQLite and PostgreSQL
# read this (window functions, upsert with ``excluded``, a WHERE before ON CONFLICT as SQLite asks). People whose
# facts the batch does not make earlier are left alone, and first by a plain read (the join with the stored facts):
# an upsert locks every row it conflicts with, which writes the row's page and the WAL even when its WHERE then
# declines to update. The upsert's WHERE still decides, on the latest version of the row, for writers racing this one.
MERGE_SQL = f"""
WITH src AS ({{source}}),
firsts AS (
    SELECT person_id, event, timestamp, id, channel,
           ROW_NUMBER() OVER (PARTITION BY person_id, event ORDER BY timestamp, id) AS rn
    FROM src
),
batch AS (
    SELECT person_id,
           MAX(CASE WHEN event = 'visit' THEN timestamp END) AS first_visit_at,
           MAX(CASE WHEN event = 'visit' THEN id END) AS first_visit_id,
           COALESCE(MAX(CASE WHEN event = 'visit' THEN channel END), '') AS first_channel,
           MAX(CASE WHEN event = 'signup' THEN timestamp END) AS first_signup_at,
           MAX(CASE WHEN event = 'order_paid' THEN timestamp END) AS first_order_at
    FROM firsts
    WHERE rn = 1
    GROUP BY person_id
)
INSERT INTO {PersonFacts._meta.db_table} AS f
    (person_id, first_visit_at, first_visit_id, first_channel, first_signup_at, first_order_at)
SELECT b.person_id, b.first_visit_at, b.first_visit_id, b.first_channel, b.first_signup_at, b.first_order_at
FROM batch AS b
LEFT JOIN {PersonFacts._meta.db_table} AS stored ON stored.person_id = b.person_id
WHERE stored.person_id IS NULL OR {_makes_earlier("b", "stored")}
ORDER BY b.person_id
{FACTS_KEEP_EARLIER}
"""  # noqa: S608 - only table and column names are formatted in; values travel as parameters


def person_facts_merge(*, source_sql: str, params: list | tuple = ()) -> None:
    """Merge the stored events that ``source_sql`` selects (id, person_id, event, timestamp, channel)."""
    with connection.cursor() as cursor:
        cursor.execute(MERGE_SQL.format(source=source_sql), params)


@transaction.atomic
def person_facts_rebuild() -> int:
    """Recompute every person's facts from all stored events; returns the number of people with facts."""
    PersonFacts.objects.all().delete()
    everything = Event.objects.filter(event__in=FACT_EVENTS).values_list("id", "person_id", "event", "timestamp",
                                                                          "channel")
    sql, params = everything.query.sql_with_params()
    person_facts_merge(source_sql=sql, params=params)
    return PersonFacts.objects.count()


# Counters: events per event name and UTC hour, and people ever seen. On PostgreSQL the hourly counts are kept by
# triggers on the events table (analytics/migrations/0018_event_counts_by_name.py), not by the loads (only
# ``event_counts_rebuild`` writes them there); on SQLite by ``events_load`` (``event_counts_add``).

# How every writer of the hourly counts adds to an hour's row (the table aliased ``c``).
_ADD_TO_HOUR = "ON CONFLICT (event, hour, slot) DO UPDATE SET events = c.events + excluded.events"
HOURLY_UPSERT_SQL = (
    f"INSERT INTO {EventCountHourly._meta.db_table} AS c (event, hour, slot, events) VALUES {{values}} "  # noqa: S608
    f"{_ADD_TO_HOUR}"
)
# Hours per upsert statement: a batch of history can touch a thousand hours, and one statement per hour was a third
# of a batch's time (64 ms of 178 for 1,000 events over 90 days, bench/_ingest_profile.py).
HOURS_PER_STATEMENT = 500
TALLY_UPSERT_SQL = (
    f"INSERT INTO {Tally._meta.db_table} AS t (key, value) VALUES (%s, %s) "  # noqa: S608
    "ON CONFLICT (key) DO UPDATE SET value = t.value + excluded.value"
)
PERSONS = "persons"

# Concurrent loads of the same hours on PostgreSQL had queued on the same count rows, each waiting for the other's
# commit: each connection adds to its own slot of an hour (its backend's pid modulo COUNTER_SLOTS).
COUNTER_SLOTS = 8
# Folds the slots of hours before {before} into slot 0 (the nightly columns task): the rows a reader sums stay about
# one an hour and name. A load racing it either waits for its delete or adds to a fresh slot row; no count is lost.
# The rows are locked in (event, hour) order first, as the triggers lock theirs, so a load of old hours cannot
# deadlock with it.
COMPACT_SQL = f"""
WITH doomed AS (
    SELECT id FROM {EventCountHourly._meta.db_table} WHERE slot <> 0 AND hour < %s ORDER BY event, hour, slot
    FOR UPDATE
),
moved AS (
    DELETE FROM {EventCountHourly._meta.db_table} AS c USING doomed WHERE c.id = doomed.id
    RETURNING c.event, c.hour, c.events
)
INSERT INTO {EventCountHourly._meta.db_table} AS c (event, hour, slot, events)
SELECT event, hour, 0, sum(events) FROM moved GROUP BY event, hour ORDER BY event, hour
{_ADD_TO_HOUR}
"""  # noqa: S608
PERSONS_ADD_SQL = (  # {source}: a relation of the people just created, one row each
    f"INSERT INTO {Tally._meta.db_table} AS t (key, value) SELECT '{PERSONS}', count(*) FROM {{source}} "  # noqa: S608
    "HAVING count(*) > 0 ON CONFLICT (key) DO UPDATE SET value = t.value + excluded.value"
)


def event_counts_add(*, hourly: list[tuple], new_persons: int) -> None:
    """Add ``(event, hour, events)`` triples and ``new_persons`` to the running totals (SQLite's loads and
    ``event_counts_rebuild``; on PostgreSQL the loads leave the events to the triggers)."""
    with connection.cursor() as cursor:
        hourly = sorted(hourly)
        for first in range(0, len(hourly), HOURS_PER_STATEMENT):
            chunk = hourly[first:first + HOURS_PER_STATEMENT]
            cursor.execute(HOURLY_UPSERT_SQL.format(values=", ".join(["(%s, %s, 0, %s)"] * len(chunk))),
                           [value for triple in chunk for value in triple])
        if new_persons:
            cursor.execute(TALLY_UPSERT_SQL, [PERSONS, new_persons])


@transaction.atomic
def event_counts_compact(*, before: datetime) -> int:
    """Fold the hourly counts of the hours before ``before`` into one row an hour and name; returns the (name, hour)
    rows written to slot 0.

    Only PostgreSQL's loads write slots other than 0."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(COMPACT_SQL, [before])
        return cursor.rowcount


def event_counts_of_new_rows(*, id_above: int) -> list[tuple]:
    """(event, UTC hour, events) of the stored events with an id above ``id_above``."""
    rows = (Event.objects.filter(id__gt=id_above).annotate(hour=TruncHour("timestamp", tzinfo=UTC))
            .values("event", "hour").annotate(n=Count("id")).order_by("event", "hour"))
    return [(row["event"], row["hour"], row["n"]) for row in rows]


@transaction.atomic
def event_counts_rebuild() -> None:
    """Recompute the hourly counts and the people total from the stored events (writers wait meanwhile)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Event._meta.db_table} IN SHARE MODE")  # noqa: S608
    EventCountHourly.objects.all().delete()
    Tally.objects.filter(key=PERSONS).delete()
    event_counts_add(hourly=event_counts_of_new_rows(id_above=0), new_persons=Person.objects.count())


def event_name_hours(event: str, start: datetime, end: datetime) -> tuple[np.ndarray, np.ndarray]:
    """The UTC hours in [start, end) holding events named ``event`` — as microseconds since 2000-01-01 UTC, in order
    — and how many each holds: exact on PostgreSQL (the triggers count every write) for ``start`` and ``end`` on
    whole UTC hours."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (date_part('epoch', hour)::bigint - 946684800) * 1000000, sum(events) "  # noqa: S608
            f"FROM {EventCountHourly._meta.db_table} WHERE event = %s AND hour >= %s AND hour < %s "
            "GROUP BY hour HAVING sum(events) <> 0 ORDER BY hour", [event, start, end])
        rows = cursor.fetchall()
    hours = np.array([row[0] for row in rows], np.int64)
    return hours, np.array([row[1] for row in rows], np.int64)
