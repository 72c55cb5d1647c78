"""AARRR daily metrics against DESIGN.md: hand-written scenarios and a brute-force reference on random data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import AarrrDaily, Event, Person, PersonFacts
from analytics.services.loading import EventRow, events_load
from analytics.services.metrics import aarrr_compute, metrics_run_execute
from ops_platform.core.invites import invite_code_of
from tests.analytics.aarrr_reference import aarrr_reference
from tests.factories import event_row, local_time

DAY = date(2026, 3, 10)


def engine_rows(date_from: date, date_to: date) -> dict:
    table = aarrr_compute(date_from=date_from, date_to=date_to)
    return {
        (record["date"], record["channel"]): {
            "acquisition": int(record["acquisition"]), "activation": int(record["activation"]),
            "retention": int(record["retention"]), "revenue": round(float(record["revenue"]), 2),
            "paying_customers": int(record["paying_customers"]), "referral": int(record["referral"]),
        }
        for record in table.to_dict("records")
    }


def test_first_touch_channel_attributes_every_stage(db):
    events_load([
        event_row("visit", "ann", local_time(DAY - timedelta(days=3), 9), channel="wechat"),
        event_row("visit", "ann", local_time(DAY, 9), channel="douyin"),  # not her first visit
        event_row("signup", "ann", local_time(DAY, 9, 5)),
        event_row("order_paid", "ann", local_time(DAY, 12), amount=20, order_id="a1", merchant_id="M1"),
        event_row("order_paid", "ann", local_time(DAY, 18), amount="5.5", order_id="a2", merchant_id="M1"),
        event_row("signup", "ben", local_time(DAY, 23, 59), referrer="ann"),  # no visit at all
    ])

    assert engine_rows(DAY, DAY) == {
        (DAY, "wechat"): {"acquisition": 0, "activation": 1, "retention": 0, "revenue": 25.5,
                          "paying_customers": 1, "referral": 1},
        (DAY, "(none)"): {"acquisition": 0, "activation": 1, "retention": 0, "revenue": 0.0,
                          "paying_customers": 0, "referral": 0},
    }


def test_a_referral_by_invite_code_counts_for_the_referrers_channel(db):
    events_load([
        event_row("visit", "ann", local_time(DAY - timedelta(days=3), 9), channel="wechat"),
        event_row("visit", "cal", local_time(DAY, 9), channel="douyin"),
        event_row("signup", "cal", local_time(DAY, 9, 5), referrer=invite_code_of("ann")),
        event_row("visit", "dee", local_time(DAY, 10), channel="douyin"),
        event_row("signup", "dee", local_time(DAY, 10, 5), referrer="INV-00000000"),  # names no one
    ])

    rows = engine_rows(DAY, DAY)

    assert rows[(DAY, "wechat")]["referral"] == 1
    assert rows[(DAY, "(none)")]["referral"] == 1


def test_retention_needs_an_order_before_the_local_day(db):
    events_load([
        event_row("visit", "cat", local_time(DAY - timedelta(days=1), 23, 50), channel="organic"),
        event_row("order_paid", "cat", local_time(DAY - timedelta(days=1), 23, 59), amount=10),
        event_row("order_paid", "cat", local_time(DAY, 0, 1), amount=10),
        event_row("visit", "dan", local_time(DAY, 8), channel="organic"),
        event_row("order_paid", "dan", local_time(DAY, 9), amount=10),
        event_row("order_paid", "dan", local_time(DAY, 10), amount=10),  # second order, same day: not retained
    ])

    rows = engine_rows(DAY, DAY)

    assert rows[(DAY, "organic")]["retention"] == 1
    assert rows[(DAY, "organic")]["paying_customers"] == 2
    assert rows[(DAY, "organic")]["acquisition"] == 1


@override_settings(TIME_ZONE="America/New_York")
def test_days_are_cut_in_the_configured_time_zone(db):
    # 2026-03-10 03:30 UTC is still 2026-03-09 in New York.
    events_load([event_row("visit", "eve", datetime(2026, 3, 10, 3, 30, tzinfo=UTC), channel="baidu")])

    assert engine_rows(date(2026, 3, 9), date(2026, 3, 10)) == {
        (date(2026, 3, 9), "baidu"): {"acquisition": 1, "activation": 0, "retention": 0, "revenue": 0.0,
                                      "paying_customers": 0, "referral": 0},
    }


def test_a_rerun_replaces_the_rows_of_its_days_only(db):
    events_load([event_row("visit", "fay", local_time(DAY, 9), channel="wechat"),
                 event_row("visit", "gus", local_time(DAY + timedelta(days=1), 9), channel="wechat")])
    metrics_run_execute(date_from=DAY, date_to=DAY + timedelta(days=1))
    events_load([event_row("visit", "hal", local_time(DAY, 10), channel="wechat")])

    run = metrics_run_execute(date_from=DAY, date_to=DAY)
    metrics_run_execute(date_from=DAY, date_to=DAY)

    assert run.rows == 1
    assert dict(AarrrDaily.objects.values_list("date", "acquisition")) == {DAY: 2, DAY + timedelta(days=1): 1}


# Random data against the reference

PEOPLE = ["p0", "p1", "p2", "p3", "p4", "p5"]
NAMES = ["visit", "visit", "signup", "order_paid", "order_paid", "review"]
BASE = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: events straddle local midnights

properties_strategy = st.fixed_dictionaries({}, optional={
    "channel": st.sampled_from(["wechat", "douyin", "", None, 7]),
    "amount": st.one_of(st.integers(0, 500), st.sampled_from(["12.5", "x", None])),
    "referrer": st.one_of(st.sampled_from(PEOPLE + ["ghost", "", " p1 "]), st.just(None)),
})
event_strategy = st.tuples(
    st.sampled_from(NAMES), st.sampled_from(PEOPLE),
    st.integers(0, 3 * 24 * 60).map(lambda minutes: BASE + timedelta(minutes=minutes)),
    properties_strategy,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event_strategy, max_size=40), tz=st.sampled_from(["Asia/Shanghai", "America/New_York"]))
def test_engine_matches_the_reference_on_random_events(events, tz):
    Event.objects.all().delete()
    Person.objects.all().delete()
    PersonFacts.objects.all().delete()
    # Stored one at a time so that storage order (ids) follows list order, as the reference assumes.
    for event in events:
        events_load([EventRow(uuid=uuid.uuid4(), event=event[0], distinct_id=event[1], timestamp=event[2],
                              properties={k: v for k, v in event[3].items() if v is not None or k == "referrer"})])
    numbered = [(i, e[0], e[1], e[2], {k: v for k, v in e[3].items() if v is not None or k == "referrer"})
                for i, e in enumerate(events)]
    date_from, date_to = date(2026, 3, 9), date(2026, 3, 11)

    with override_settings(TIME_ZONE=tz):
        assert engine_rows(date_from, date_to) == aarrr_reference(numbered, tz=tz, date_from=date_from,
                                                                  date_to=date_to)
