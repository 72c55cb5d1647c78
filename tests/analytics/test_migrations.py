"""Upgrading an install that already holds events: the migrations that fill new tables from existing events (0004's
first-touch facts, 0006's counts) must give what the live services keep, on the schema as it is when they run."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour

from analytics import selectors
from analytics.models import Event, EventCountHourly
from tests.analytics.test_facts import expected as expected_facts
from tests.analytics.test_facts import facts as stored_facts

BEFORE_FACTS = ("analytics", "0003_export_job")
START = datetime(2026, 3, 1, tzinfo=UTC)


def _events_at(state: tuple[str, str]) -> int:
    """Write people and events with the historical models of ``state``; returns the number of events."""
    apps = MigrationExecutor(connection).loader.project_state(state).apps
    person, event = apps.get_model("analytics", "Person"), apps.get_model("analytics", "Event")
    rng = random.Random(11)
    people = person.objects.bulk_create([person(distinct_id=f"c{n}") for n in range(30)])
    names = ["visit", "signup", "order_paid", "review"]
    rows = [event(uuid=uuid.UUID(int=rng.getrandbits(128)), event=rng.choice(names),
                  distinct_id=who.distinct_id, person_id=who.pk, channel=rng.choice(["wechat", "douyin", ""]),
                  # three times a person: events share them, so the facts' tie-break by id counts
                  timestamp=START + timedelta(days=rng.randrange(3)), properties={})
            for who in people for _ in range(rng.randrange(1, 10))]
    event.objects.bulk_create(rows)
    return len(rows)


def name_counts() -> dict:
    """{(event, UTC hour): events} as the hourly counts hold them (slots summed, zeros left out)."""
    rows = EventCountHourly.objects.values("event", "hour").annotate(n=Sum("events")).values_list("event", "hour", "n")
    return {(event, hour): n for event, hour, n in rows if n}


def expected_name_counts() -> dict:
    """The same, counted from the stored events."""
    rows = (Event.objects.annotate(hour=TruncHour("timestamp", tzinfo=UTC)).values("event", "hour")
            .annotate(n=Count("id")).values_list("event", "hour", "n"))
    return {(event, hour): n for event, hour, n in rows}


@pytest.mark.django_db(transaction=True)
def test_upgrading_an_install_with_events_fills_the_facts_and_counts_as_the_services_keep_them():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE_FACTS])
        events = _events_at(BEFORE_FACTS)
    finally:  # back to the latest schema whatever happened, for the tests that follow
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert Event.objects.count() == events
    assert stored_facts() == expected_facts()
    assert selectors.event_count() == events
    assert selectors.person_count() == 30
    by_hour = dict(EventCountHourly.objects.values("hour").annotate(n=Sum("events")).values_list("hour", "n"))
    assert by_hour == dict(Event.objects.annotate(hour=TruncHour("timestamp", tzinfo=UTC)).values("hour")
                           .annotate(n=Count("id")).values_list("hour", "n"))
    assert name_counts() == expected_name_counts()  # 0018's counts per name, taken from the events already stored
