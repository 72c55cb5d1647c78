"""Concurrent loads on PostgreSQL, each on its own connection and committing as the endpoint does: the people of a
batch commit before its events, every connection adds to its own slot of the hourly counts, and the first-touch facts
are merged from each batch's stored rows. Whatever the interleaving, what is stored must be what the events say.

PostgreSQL only (SQLite has one writer at a time); on a bare machine it is skipped, in CI it fails without it.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour

from analytics import selectors
from analytics.models import Event, EventCountHourly, Person
from analytics.services.loading import EVENT_ID_SEQUENCE, EventRow, events_load
from tests.analytics.test_facts import expected as expected_facts
from tests.analytics.test_facts import facts as stored_facts
from tests.conftest import missing_service

START = datetime(2026, 5, 4, tzinfo=UTC)
WORKERS = 4
BATCHES = 6
BATCH = 300


def _batches(seed: int) -> list[list[EventRow]]:
    """Batches over 20 days and 150 customers, so concurrent batches share new people and hours; some events are
    sent by two workers (the same uuid), as a retry would."""
    rng = random.Random(1000 + seed)  # not the shared events' stream: a worker's own events are its own
    shared = random.Random(0)
    batches = []
    for b in range(BATCHES):
        rows = []
        for _ in range(BATCH):
            name = rng.choice(["visit", "visit", "signup", "order_paid", "review"])
            rows.append(EventRow(uuid=uuid.UUID(int=rng.getrandbits(128)), event=name,
                                 distinct_id=f"c{rng.randrange(150)}",
                                 timestamp=START + timedelta(seconds=rng.randrange(20 * 86400)),
                                 properties={"channel": rng.choice(["wechat", "douyin", ""])}))
        # The same 20 events in every worker's batch b: stored once, the others count them as duplicates.
        rows += [EventRow(uuid=uuid.UUID(int=shared.getrandbits(128) + b), event="visit", distinct_id=f"s{k}",
                          timestamp=START + timedelta(hours=k), properties={"channel": "baidu"}) for k in range(20)]
        batches.append(rows)
    return batches


def _run_at_once(load, *, workers: int) -> None:
    """Run ``load(worker, barrier)`` in ``workers`` threads, each on its own connection; the barrier lines them up.
    A thread's failure is reported here (and breaks the barrier, so the others do not wait for it)."""
    failures: list[BaseException] = []
    start = threading.Barrier(workers)

    def run(worker: int) -> None:
        try:
            load(worker, start)
        except BaseException as exc:  # reported below, with the thread's own traceback
            failures.append(exc)
            start.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.django_db(transaction=True)
def test_concurrent_loads_store_each_event_once_with_its_person_facts_and_counts():
    if connection.vendor != "postgresql":
        missing_service("concurrent loads need PostgreSQL (DATABASE_URL)")
    work = {worker: _batches(seed=worker) for worker in range(WORKERS)}
    inserted: dict[int, int] = {}

    def load(worker: int, start: threading.Barrier) -> None:
        start.wait(timeout=30)
        inserted[worker] = sum(events_load(rows).inserted for rows in work[worker])

    _run_at_once(load, workers=WORKERS)

    sent = {row.uuid for rows in work.values() for batch in rows for row in batch}
    assert Event.objects.count() == len(sent) == sum(inserted.values())
    assert not Event.objects.values("uuid").annotate(n=Count("id")).filter(n__gt=1).exists()
    # Every person counted once, and every event points at its own.
    assert Person.objects.count() == selectors.person_count()
    people = dict(Person.objects.values_list("distinct_id", "id"))
    assert all(people[d] == p for d, p in Event.objects.values_list("distinct_id", "person_id"))
    # Counts split over slots still sum to the events of each hour.
    assert selectors.event_count() == len(sent)
    by_hour = dict(EventCountHourly.objects.values("hour").annotate(n=Sum("events")).values_list("hour", "n"))
    events_by_hour = dict(Event.objects.annotate(hour=TruncHour("timestamp", tzinfo=UTC)).values("hour")
                          .annotate(n=Count("id")).values_list("hour", "n"))
    assert by_hour == events_by_hour
    assert stored_facts() == expected_facts()


@pytest.mark.django_db(transaction=True)
def test_a_retry_racing_its_original_in_another_order_stores_once_without_a_deadlock():
    """Two loads of the same events, one in reverse order, at the same moment, round after round: each waits on the
    other's uuids in one order (uuid order), so neither is cancelled as a deadlock."""
    if connection.vendor != "postgresql":
        missing_service("concurrent loads need PostgreSQL (DATABASE_URL)")
    rng = random.Random(7)
    rounds = [[EventRow(uuid=uuid.UUID(int=rng.getrandbits(128)), event="visit", distinct_id=f"c{rng.randrange(50)}",
                        timestamp=START + timedelta(minutes=rng.randrange(10_000)), properties={})
               for _ in range(400)] for _ in range(15)]
    inserted = {0: 0, 1: 0}

    def load(worker: int, start: threading.Barrier) -> None:
        for rows in rounds:
            start.wait(timeout=30)
            inserted[worker] += events_load(rows if worker == 0 else rows[::-1]).inserted

    _run_at_once(load, workers=2)
    assert Event.objects.count() == inserted[0] + inserted[1] == 15 * 400
    assert selectors.event_count() == 15 * 400


@pytest.mark.django_db
def test_the_loader_names_the_event_id_sequence_postgresql_made():
    if connection.vendor != "postgresql":
        missing_service("the event id sequence is PostgreSQL's (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Event._meta.db_table])
        assert cursor.fetchone()[0] == f"public.{EVENT_ID_SEQUENCE}"
