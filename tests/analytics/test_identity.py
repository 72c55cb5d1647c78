"""Identity: anonymous ids linked to known ones (identify/alias) count as one person in every report.

Hand-written scenarios (late identify, the two-known-customers rule, alias either way) and the engines against the
brute-force reference on random event sets with random links, the reference resolving identities by itself.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from analytics.models import AarrrDaily, Event, Person, PersonFacts, PersonMerge, Tally
from analytics.services.facts import person_facts_rebuild
from analytics.services.funnel import funnel_compute
from analytics.services.identity import (
    Link,
    identities_link,
    merged_days_take,
    person_id_resolve,
    person_merges_reapply,
)
from analytics.services.loading import EventRow, events_load
from analytics.services.metrics import aarrr_compute, metrics_run_execute
from analytics.services.retention import retention_compute
from analytics.tasks import compute_metrics_nightly
from tests.analytics import reference
from tests.analytics.conftest import ENGINES
from tests.analytics.test_engine_properties import HYPOTHESIS, local_moments
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)


def person_of(distinct_id: str) -> int:
    return person_id_resolve(distinct_id)


def funnel(steps=("visit", "signup", "order_paid"), **kwargs) -> dict:
    return funnel_compute(steps=list(steps), window_days=14, date_from=DAY, date_to=DAY + timedelta(days=5),
                          breakdown="channel", **kwargs)


def anonymous_then_known() -> None:
    events_load([event_row("visit", "anon-1", local_time(DAY, 9), channel="wechat"),
                 event_row("signup", "alice", local_time(DAY, 10)),
                 event_row("order_paid", "alice", local_time(DAY + timedelta(days=1), 12), amount=30)])


# Scenarios


@pytest.mark.parametrize("engine", ENGINES)
def test_late_identify_joins_the_anonymous_visit_to_the_customer(engine):
    anonymous_then_known()
    before = funnel(engine=engine)
    assert [step["count"] for step in before["steps"]] == [1, 0, 0]  # two people: a visitor and a customer

    result = identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    assert result.merged == 1
    after = funnel(engine=engine)
    assert [step["count"] for step in after["steps"]] == [1, 1, 1]
    assert [(group["value"], group["steps"][2]["count"]) for group in after["breakdown"]] == [("wechat", 1)]


def test_a_merge_repoints_events_and_moves_first_touch_facts():
    anonymous_then_known()
    persons_before = Tally.objects.get(key="persons").value

    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    alice = person_of("alice")
    assert person_of("anon-1") == alice
    assert set(Event.objects.values_list("person_id", flat=True)) == {alice}
    facts = PersonFacts.objects.get(person_id=alice)
    assert (facts.first_channel, facts.first_visit_at, facts.first_signup_at) == (
        "wechat", local_time(DAY, 9), local_time(DAY, 10))
    assert PersonFacts.objects.count() == 1
    assert Tally.objects.get(key="persons").value == persons_before - 1
    merge = PersonMerge.objects.get()
    assert (merge.from_person, merge.into_person, merge.events) == (
        Person.objects.get(distinct_id="anon-1").id, alice, 1)


def test_events_after_the_link_go_to_the_kept_person():
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    events_load([event_row("visit", "anon-1", local_time(DAY, 9), channel="douyin"),
                 event_row("signup", "alice", local_time(DAY, 10))])

    assert set(Event.objects.values_list("person_id", flat=True)) == {person_of("alice")}
    assert PersonFacts.objects.get(person_id=person_of("alice")).first_channel == "douyin"


def test_two_known_customers_are_never_merged_by_an_anonymous_id_that_touches_both():
    events_load([event_row("visit", "shared-device", local_time(DAY, 9), channel="wechat"),
                 event_row("signup", "alice", local_time(DAY, 10)),
                 event_row("signup", "bob", local_time(DAY, 11))])

    result = identities_link([Link(anonymous_id="shared-device", known_id="alice"),
                              Link(anonymous_id="shared-device", known_id="bob")])

    assert (result.merged, [link.known_id for link in result.refused]) == (1, ["bob"])
    assert person_of("shared-device") == person_of("alice") != person_of("bob")
    assert funnel(steps=("signup",))["steps"][0]["count"] == 2


def test_identify_never_merges_a_known_customer_into_another():
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])  # alice is known now

    result = identities_link([Link(anonymous_id="alice", known_id="bob")])

    assert len(result.refused) == 1
    assert person_of("alice") != person_of("bob")


def test_alias_joins_a_new_id_to_the_known_side_whichever_it_is_sent_as():
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    result = identities_link([Link(anonymous_id="alice", known_id="device-2", kind="alias")])

    assert result.merged == 1
    assert person_of("device-2") == person_of("alice") == Person.objects.get(distinct_id="alice").id


def test_alias_between_two_known_customers_is_refused():
    identities_link([Link(anonymous_id="a1", known_id="alice"), Link(anonymous_id="b1", known_id="bob")])

    result = identities_link([Link(anonymous_id="alice", known_id="bob", kind="alias")])

    assert len(result.refused) == 1


def test_linking_twice_or_to_itself_changes_nothing():
    anonymous_then_known()
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    again = identities_link([Link(anonymous_id="anon-1", known_id="alice"), Link(anonymous_id="x", known_id="x")])

    assert (again.merged, again.already, again.refused) == (0, 1, [])
    assert PersonMerge.objects.count() == 1


def test_a_chain_of_anonymous_ids_ends_on_one_person():
    events_load([event_row("visit", "web-cookie", local_time(DAY, 8), channel="baidu"),
                 event_row("visit", "app-device", local_time(DAY, 9), channel="douyin")])

    identities_link([Link(anonymous_id="web-cookie", known_id="alice"),
                     Link(anonymous_id="app-device", known_id="alice")])

    alice = person_of("alice")
    assert person_of("web-cookie") == person_of("app-device") == alice
    assert PersonFacts.objects.get(person_id=alice).first_channel == "baidu"  # the earliest visit of any id
    assert Person.objects.filter(merged_into__isnull=False).count() == 2


def test_aarrr_meets_acquisition_and_activation_on_the_merged_person():
    anonymous_then_known()
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    table = aarrr_compute(date_from=DAY, date_to=DAY + timedelta(days=1))

    rows = {(row.date, row.channel): row for row in table.itertuples()}
    assert set(rows) == {(DAY, "wechat"), (DAY + timedelta(days=1), "wechat")}
    assert (rows[(DAY, "wechat")].acquisition, rows[(DAY, "wechat")].activation) == (1, 1)
    assert rows[(DAY + timedelta(days=1), "wechat")].revenue == 30


def test_reapply_repoints_events_a_racing_load_stored_under_the_merged_person():
    anonymous_then_known()
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])
    merged = Person.objects.get(distinct_id="anon-1").id
    straggler = event_row("visit", "anon-1", local_time(DAY, 7), channel="baidu")
    events_load([straggler])
    Event.objects.filter(uuid=straggler.uuid).update(person_id=merged)  # as if looked up before the merge committed

    moved = person_merges_reapply()

    assert moved == 1
    assert set(Event.objects.values_list("person_id", flat=True)) == {person_of("alice")}
    assert PersonFacts.objects.get(person_id=person_of("alice")).first_channel == "baidu"


def test_facts_rebuild_agrees_with_the_merged_facts():
    anonymous_then_known()
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])
    merged = list(PersonFacts.objects.values_list("person_id", "first_visit_at", "first_channel", "first_signup_at",
                                                  "first_order_at"))

    person_facts_rebuild()

    assert list(PersonFacts.objects.values_list("person_id", "first_visit_at", "first_channel", "first_signup_at",
                                                "first_order_at")) == merged


# The engines against the reference, which resolves identities itself


def resolve(links: list[tuple[str, str, str]]):
    """The reference's identity: links applied in order by the documented rules, on plain dicts."""
    head: dict[str, str] = {}
    identified: set[str] = set()

    def root(name: str) -> str:
        return head.get(name, name)

    for anonymous, known, kind in links:
        if anonymous == known:
            continue
        source, target = root(anonymous), root(known)
        if source == target:
            identified.add(target)
            continue
        if source in identified:
            if kind != "alias" or target in identified:
                continue
            source, target = target, source
        for name, value in list(head.items()):
            if value == source:
                head[name] = target
        head[source] = target
        identified.add(target)
    return root


ANONYMOUS, KNOWN = ["a0", "a1", "a2", "a3"], ["u0", "u1", "u2"]
STEP_EVENTS = ["visit", "signup", "order_paid"]


@st.composite
def scenarios(draw):
    rows = draw(st.lists(st.tuples(st.sampled_from(ANONYMOUS + KNOWN), st.sampled_from(STEP_EVENTS), local_moments(),
                                   st.sampled_from(["", "wechat", "douyin"])), max_size=30))
    links = draw(st.lists(st.tuples(st.sampled_from(ANONYMOUS + KNOWN), st.sampled_from(KNOWN),
                                    st.sampled_from(["identify", "identify", "alias"])), max_size=6))
    split = draw(st.integers(min_value=0, max_value=len(rows)))  # events before the links, the rest after
    return rows, links, split


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(scenario=scenarios(), window_days=st.integers(min_value=1, max_value=4), span=st.integers(0, 6),
       steps=st.lists(st.sampled_from(STEP_EVENTS), min_size=2, max_size=3))
def test_funnel_and_retention_count_persons_like_the_reference(settings, engine, scenario, window_days, span, steps):
    settings.TIME_ZONE = "Asia/Shanghai"
    zone = ZoneInfo("Asia/Shanghai")
    rows, links, split = scenario
    base = date(2026, 2, 26)
    date_from, date_to = base, base + timedelta(days=span)
    loaded = [EventRow(uuid=uuid.uuid4(), event=name, distinct_id=who, timestamp=datetime.combine(day, moment, zone),
                       properties={"channel": channel} if channel else {})
              for who, name, (day, moment), channel in rows]

    def check():
        events_load(loaded[:split])
        identities_link([Link(anonymous_id=a, known_id=k, kind=kind) for a, k, kind in links])
        events_load(loaded[split:])
        ids = dict(Event.objects.values_list("uuid", "id"))
        root = resolve(links)
        plain = [reference.Ev(id=ids[row.uuid], person=root(row.distinct_id), event=row.event, ts=row.timestamp,
                              channel=row.channel) for row in loaded]

        result = funnel_compute(steps=steps, window_days=window_days, date_from=date_from, date_to=date_to,
                                breakdown="channel", engine=engine)
        kept = retention_compute(cohort_event="visit", return_event="order_paid", period="day", date_from=date_from,
                                 date_to=date_to, periods=4, engine=engine)

        assert result == reference.funnel(plain, steps, window_days, date_from, date_to, "Asia/Shanghai",
                                          breakdown=True, now=reference.as_of(result))
        assert kept == reference.retention(plain, "visit", "order_paid", "day", date_from, date_to,
                                           "Asia/Shanghai", periods=4)
        persons = {root(row.distinct_id) for row in loaded}
        assert len(set(Event.objects.values_list("person_id", flat=True))) == len(persons)

    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


def test_reference_resolver_follows_the_rules():
    root = resolve([("a", "u1", "identify"), ("a", "u2", "identify"), ("u1", "d", "alias"), ("b", "u2", "identify")])

    assert root("a") == root("d") == root("u1") == "u1"
    assert root("b") == root("u2") == "u2"


def test_the_nightly_run_recomputes_the_days_a_late_identify_changed(celery_eager, django_capture_on_commit_callbacks):
    anonymous_then_known()
    metrics_run_execute(date_from=DAY, date_to=DAY + timedelta(days=1))
    assert set(AarrrDaily.objects.filter(date=DAY).values_list("channel", "acquisition", "activation")) == {
        ("wechat", 1, 0), ("(none)", 0, 1)}
    identities_link([Link(anonymous_id="anon-1", known_id="alice")])

    with django_capture_on_commit_callbacks(execute=True):
        compute_metrics_nightly.apply()

    assert set(AarrrDaily.objects.filter(date=DAY).values_list("channel", "acquisition", "activation")) == {
        ("wechat", 1, 1)}
    assert merged_days_take(today=DAY + timedelta(days=20)) is None  # taken once
