"""PersonFacts merged batch by batch equal what all history says, whatever the order the batches come in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import Event, EventCountHourly, Person, PersonFacts, Tally
from analytics.services.facts import COUNTER_SLOTS, HOURS_PER_STATEMENT, event_counts_add, person_facts_rebuild
from analytics.services.loading import EventRow, events_load
from tests.factories import event_row

BASE = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def facts() -> dict:
    return {row[0]: row[1:] for row in PersonFacts.objects.values_list(
        "person__distinct_id", "first_visit_at", "first_visit_id", "first_channel", "first_signup_at",
        "first_order_at")}


def expected() -> dict:
    """From the stored events, by brute force."""
    out = {}
    for event in Event.objects.order_by("timestamp", "id"):
        if event.event not in ("visit", "signup", "order_paid"):
            continue
        current = out.setdefault(event.distinct_id, [None, None, "", None, None])
        if event.event == "visit" and current[0] is None:
            current[0:3] = [event.timestamp, event.id, event.channel]
        elif event.event == "signup" and current[3] is None:
            current[3] = event.timestamp
        elif event.event == "order_paid" and current[4] is None:
            current[4] = event.timestamp
    return {key: tuple(value) for key, value in out.items()}


event_strategy = st.tuples(
    st.sampled_from(["visit", "signup", "order_paid", "review"]), st.sampled_from(["a", "b", "c"]),
    st.integers(0, 20).map(lambda minutes: BASE + timedelta(minutes=minutes)),  # many ties
    st.sampled_from(["wechat", "douyin", ""]),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event_strategy, max_size=30), cuts=st.lists(st.integers(0, 30), max_size=4),
       order=st.randoms(use_true_random=False))
def test_batches_in_any_order_give_the_facts_of_all_history(events, cuts, order):
    Event.objects.all().delete()
    Person.objects.all().delete()
    PersonFacts.objects.all().delete()
    rows = [EventRow(uuid=uuid.uuid4(), event=e, distinct_id=d, timestamp=t,
                     properties={"channel": c} if c else {}) for e, d, t, c in events]
    bounds = sorted({0, len(rows), *[min(c, len(rows)) for c in cuts]})
    batches = [rows[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    order.shuffle(batches)

    for batch in batches:
        events_load(batch)
        events_load(batch[:2])  # a retried batch changes nothing

    assert facts() == expected()
    person_facts_rebuild()
    assert facts() == expected()


def test_an_earlier_visit_arriving_late_takes_over_the_channel(db):
    events_load([event_row("visit", "ann", BASE + timedelta(hours=2), channel="douyin")])
    events_load([event_row("visit", "ann", BASE, channel="wechat"), event_row("signup", "ann", BASE)])

    row = PersonFacts.objects.get(person__distinct_id="ann")
    assert (row.first_visit_at, row.first_channel, row.first_signup_at) == (BASE, "wechat", BASE)


def test_running_counts_follow_the_stored_events_and_survive_a_rebuild(db):
    from django.core.management import call_command
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from analytics import selectors

    now = timezone.now()
    first = [event_row("visit", f"c{i % 7}", now - timedelta(hours=i * 5)) for i in range(40)]
    events_load(first)
    events_load(first[:10] + [event_row("signup", "new", now)])  # duplicates are not counted again

    def by_day() -> dict:
        rows = Event.objects.annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone())).values(
            "day").annotate(n=Count("id"))
        return {row["day"]: row["n"] for row in rows}

    shown = {row["date"]: row["count"] for row in selectors.event_daily_counts(days=30) if row["count"]}
    assert selectors.event_count() == Event.objects.count() == 41
    assert selectors.person_count() == Person.objects.count() == 8
    assert shown == by_day()

    call_command("rebuild_event_facts", verbosity=0)

    assert selectors.event_count() == 41
    assert selectors.person_count() == 8


def test_hourly_counts_of_a_batch_spanning_more_hours_than_one_statement_holds(db):
    """History batches touch many hours: the upsert goes in statements of ``HOURS_PER_STATEMENT`` hours."""
    first = datetime(2026, 1, 1, tzinfo=UTC)
    hours = [first + timedelta(hours=h) for h in range(HOURS_PER_STATEMENT * 2 + 1)]
    event_counts_add(hourly=[("visit", hour, 2) for hour in reversed(hours)], new_persons=0)
    event_counts_add(hourly=[("visit", hours[0], 1), ("signup", hours[0], 4), ("visit", hours[-1], 1)], new_persons=3)

    stored = {(event, hour): n for event, hour, n in EventCountHourly.objects.values_list("event", "hour", "events")}
    assert len(stored) == len(hours) + 1
    assert stored["visit", hours[0]] == 3 and stored["visit", hours[-1]] == 3
    assert stored["visit", hours[HOURS_PER_STATEMENT]] == 2 and stored["signup", hours[0]] == 4
    assert Tally.objects.get(key="persons").value == 3


def test_hourly_counts_split_over_slots_are_summed_by_every_reader_and_folded_by_the_nightly_task(db, celery_eager):
    """Loads on PostgreSQL add to their connection's slot of an hour; readers sum the slots, and the nightly columns
    task folds past days back into one row an hour without changing a total."""
    from analytics import selectors
    from analytics.services.columns import events_in

    hour = datetime(2026, 3, 9, 15, tzinfo=UTC)
    EventCountHourly.objects.bulk_create([EventCountHourly(event="visit", hour=hour, slot=0, events=5),
                                          EventCountHourly(event="visit", hour=hour, slot=3, events=7),
                                          EventCountHourly(event="signup", hour=hour, slot=3, events=2),
                                          EventCountHourly(event="visit", hour=hour + timedelta(hours=1), slot=6,
                                                           events=1)])
    assert selectors.event_count() == 15
    assert events_in([(hour, hour + timedelta(minutes=30))]) == 14

    from analytics.tasks import build_event_columns_nightly

    build_event_columns_nightly.delay().get()

    assert selectors.event_count() == 15
    assert events_in([(hour, hour + timedelta(minutes=30))]) == 14
    if connection.vendor == "postgresql":
        assert sorted(EventCountHourly.objects.values_list("event", "hour", "slot", "events")) == [
            ("signup", hour, 0, 2), ("visit", hour, 0, 12), ("visit", hour + timedelta(hours=1), 0, 1)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="slots are written by PostgreSQL's loads only")
def test_a_load_on_postgresql_adds_to_the_slot_of_its_connection(db):
    events_load([event_row("visit", "a", BASE), event_row("visit", "b", BASE + timedelta(minutes=5)),
                 event_row("signup", "b", BASE + timedelta(minutes=6))])

    slot = connection.connection.info.backend_pid % COUNTER_SLOTS
    assert sorted(EventCountHourly.objects.values_list("event", "hour", "slot", "events")) == [
        ("signup", BASE, slot, 1), ("visit", BASE, slot, 2)]
