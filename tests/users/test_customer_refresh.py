"""The customer refresh on crafted events: every field, the life-cycle rules, RFM, counts and flows."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from analytics.services.loading import events_load
from tests.conftest import missing_service
from tests.factories import event_row, local_time
from users.models import Customer, CustomerRefresh, LifecycleSettings, StageDaily, StageFlow
from users.services.customers import customers_lock, customers_refresh, rfm_segment_of
from users.tasks import customers_refresh_task

TODAY = date(2026, 6, 30)
NOW = local_time(TODAY, 23, 0)


def day(n: int) -> date:
    """n days before TODAY."""
    return TODAY - timedelta(days=n)


@pytest.fixture
def crafted(db):
    events_load([
        # alice: wechat with UTM, signs up referred by bob, orders twice recently
        event_row("visit", "alice", local_time(day(20), 9), channel="wechat", utm_source="wx", utm_medium="social",
                  utm_campaign="spring"),
        event_row("visit", "alice", local_time(day(19), 9), channel="direct"),
        event_row("signup", "alice", local_time(day(20), 10), referrer="bob"),
        event_row("order_paid", "alice", local_time(day(15), 12), order_id="o1", amount=30.5, merchant_id="m1"),
        event_row("order_paid", "alice", local_time(day(2), 12), order_id="o2", amount=20, merchant_id="m1"),
        # bob: visited 3 days ago, no order: new
        event_row("visit", "bob", local_time(day(3), 9), channel="douyin"),
        # carol: one order 60 days ago: at risk
        event_row("visit", "carol", local_time(day(70), 9), channel="organic"),
        event_row("order_paid", "carol", local_time(day(60), 12), order_id="o3", amount="bad", merchant_id="m2"),
        # dave: ordered 200 days ago, then again 5 days ago: resurrected
        event_row("visit", "dave", local_time(day(210), 9), channel="baidu_sem"),
        event_row("order_paid", "dave", local_time(day(200), 12), order_id="o4", amount=100, merchant_id="m2"),
        event_row("order_paid", "dave", local_time(day(5), 12), order_id="o5", amount=50, merchant_id="m2"),
        # erin: first order 10 days ago: activated
        event_row("visit", "erin", local_time(day(12), 9), channel="wechat"),
        event_row("order_paid", "erin", local_time(day(10), 12), order_id="o6", amount=10, merchant_id="m1"),
        # frank: last order 120 days ago: churned
        event_row("visit", "frank", local_time(day(150), 9), channel="organic"),
        event_row("order_paid", "frank", local_time(day(140), 12), order_id="o7", amount=5, merchant_id="m1"),
        event_row("order_paid", "frank", local_time(day(120), 12), order_id="o8", amount=5, merchant_id="m1"),
        # grace: seen only 100 days ago, never ordered: churned
        event_row("visit", "grace", local_time(day(100), 9)),
    ])


def test_refresh_builds_every_field_from_the_events(crafted):
    run = customers_refresh(now=NOW)

    alice = Customer.objects.get(distinct_id="alice")
    assert run.status == CustomerRefresh.Status.DONE
    assert run.customers == 7
    assert alice.first_seen_at == local_time(day(20), 9)
    assert alice.last_seen_at == local_time(day(2), 12)
    assert (alice.first_channel, alice.utm_source, alice.utm_medium, alice.utm_campaign) == (
        "wechat", "wx", "social", "spring")
    assert alice.signed_up_at == local_time(day(20), 10)
    assert alice.referrer == "bob"
    assert alice.first_order_at == local_time(day(15), 12)
    assert alice.last_order_at == local_time(day(2), 12)
    assert alice.orders == 2
    assert alice.spend == Decimal("50.50")


def test_a_malformed_amount_counts_as_nothing(crafted):
    customers_refresh(now=NOW)

    carol = Customer.objects.get(distinct_id="carol")
    assert (carol.orders, carol.spend) == (1, Decimal("0.00"))


def test_life_cycle_stages_follow_the_thresholds(crafted):
    customers_refresh(now=NOW)

    stages = dict(Customer.objects.values_list("distinct_id", "stage"))
    # defaults: new for 14 days, active window 30, churned after 45 days without an order
    assert stages == {"alice": "active", "bob": "new", "carol": "churned", "dave": "resurrected",
                      "erin": "activated", "frank": "churned", "grace": "churned"}


def test_admin_thresholds_change_the_stages(crafted):
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"new_days": 2, "active_days": 70, "churn_days": 130})

    customers_refresh(now=NOW)

    stages = dict(Customer.objects.values_list("distinct_id", "stage"))
    # grace never ordered and was last seen 100 days ago, outside the 70-day active window: churned
    assert stages == {"alice": "active", "bob": "at_risk", "carol": "activated", "dave": "resurrected",
                      "erin": "activated", "frank": "at_risk", "grace": "churned"}


def test_rfm_scores_are_quintiles_and_named(crafted):
    customers_refresh(now=NOW)

    scores = {c.distinct_id: (c.recency_score, c.frequency_score, c.monetary_score, c.rfm_segment)
              for c in Customer.objects.all()}
    # five buyers: last orders alice(2) dave(5) erin(10) carol(60) frank(120) days ago;
    # orders 2, 2, 1, 1, 2; spend 50.5, 150, 10, 0, 10. Fewer than five distinct values: quintiles, the lowest
    # value 1 (the one-order buyers are F=1, not F=2 as their quintile would say)
    assert scores == {
        "alice": (5, 5, 4, "champions"), "dave": (4, 5, 5, "champions"), "erin": (3, 1, 3, "about_to_sleep"),
        "carol": (2, 1, 1, "hibernating"), "frank": (1, 5, 3, "cant_lose"),
        "bob": (0, 0, 0, ""), "grace": (0, 0, 0, ""),
    }


def test_rfm_grid_names():
    assert rfm_segment_of(recency=5, frequency=5) == "champions"
    assert rfm_segment_of(recency=1, frequency=1) == "lost"
    assert rfm_segment_of(recency=1, frequency=5) == "cant_lose"
    assert rfm_segment_of(recency=0, frequency=0) == ""


def test_running_twice_leaves_the_same_rows(crafted):
    customers_refresh(now=NOW)
    first = list(Customer.objects.order_by("pk").values_list("distinct_id", "stage", "orders", "spend",
                                                              "rfm_segment"))

    customers_refresh(now=NOW)

    assert list(Customer.objects.order_by("pk").values_list("distinct_id", "stage", "orders", "spend",
                                                             "rfm_segment")) == first
    assert dict(StageDaily.objects.filter(date=TODAY).values_list("stage", "customers")) == {
        "active": 1, "activated": 1, "churned": 3, "new": 1, "resurrected": 1}
    assert sum(StageFlow.objects.filter(date=TODAY).values_list("customers", flat=True)) == 7


def test_flows_count_the_customers_whose_stage_changed(crafted):
    customers_refresh(now=NOW)
    later = NOW + timedelta(days=12)  # bob is no longer new; alice's last order is still within 30 days

    customers_refresh(now=later)

    flows = {(f.from_stage, f.to_stage): f.customers for f in StageFlow.objects.filter(date=later.date())}
    assert flows[("new", "at_risk")] == 1
    assert ("active", "active") not in flows


def test_new_events_update_the_customer(crafted):
    customers_refresh(now=NOW)
    events_load([event_row("order_paid", "bob", local_time(day(1), 12), order_id="o9", amount=8, merchant_id="m1")])

    customers_refresh(now=NOW)

    bob = Customer.objects.get(distinct_id="bob")
    assert (bob.orders, bob.stage, bob.previous_stage) == (1, "activated", "new")


def test_task_runs_the_refresh(crafted, celery_eager):
    result = customers_refresh_task.delay("nightly")

    run = CustomerRefresh.objects.get(pk=result.get())
    assert (run.trigger, run.status, run.customers) == ("nightly", "done", 7)


def test_nightly_schedule_exists(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Nightly customer refresh")
    assert task.task == "users.tasks.customers_refresh_task"
    assert (task.crontab.hour, task.crontab.minute) == ("3", "15")


def test_a_refresh_that_changes_nothing_adds_no_flow_and_keeps_previous_stage(crafted):
    customers_refresh(now=NOW)
    events_load([event_row("order_paid", "bob", local_time(day(1), 12), order_id="o9", amount=8, merchant_id="m1")])
    customers_refresh(now=NOW)
    next_day = NOW + timedelta(days=1)

    customers_refresh(now=next_day)

    bob = Customer.objects.get(distinct_id="bob")
    assert (bob.stage, bob.previous_stage) == ("activated", "new")
    assert not StageFlow.objects.filter(date=next_day.date()).exists()
    assert sum(StageDaily.objects.filter(date=next_day.date()).values_list("customers", flat=True)) == 7


def test_rfm_scores_follow_new_orders_of_other_customers(crafted):
    customers_refresh(now=NOW)
    # erin orders three more times, today: the most recent and most frequent buyer
    events_load([event_row("order_paid", "erin", local_time(TODAY, 8 + k), order_id=f"e{k}", amount=100,
                           merchant_id="m1") for k in range(3)])

    customers_refresh(now=NOW)

    scores = {c.distinct_id: (c.recency_score, c.frequency_score, c.monetary_score, c.rfm_segment)
              for c in Customer.objects.filter(orders__gt=0)}
    assert scores["erin"] == (5, 5, 5, "champions")
    assert scores["alice"] == (4, 4, 3, "loyal")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row versions (xmin) are PostgreSQL's")
def test_a_refresh_with_nothing_new_rewrites_no_customer_row(crafted):
    customers_refresh(now=NOW)

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT person_id, xmin::text FROM users_customer")
            return dict(cursor.fetchall())

    first = versions()

    customers_refresh(now=NOW)

    assert versions() == first


def test_a_customer_who_never_ordered_is_at_risk_while_still_coming_then_churned(db):
    events_load([event_row("visit", "ivy", local_time(day(40), 9), channel="wechat"),
                 event_row("visit", "ivy", local_time(day(20), 9), channel="direct"),
                 event_row("visit", "jon", local_time(day(40), 9), channel="wechat"),
                 event_row("visit", "jon", local_time(day(35), 9), channel="direct")])

    customers_refresh(now=NOW)

    assert dict(Customer.objects.values_list("distinct_id", "stage")) == {"ivy": "at_risk", "jon": "churned"}


def _in_threads(target, n: int) -> tuple[list[threading.Thread], list]:
    barrier = threading.Barrier(n)
    outcomes: list = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(target())
        except Exception as error:  # noqa: BLE001 - the test reports what failed
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    return threads, outcomes


@pytest.mark.django_db(transaction=True)
def test_refreshes_at_the_same_time_wait_for_each_other(crafted):
    """Nightly + "refresh now": the second waits for the first (advisory lock) instead of failing on the unique
    day/stage rows, and then finds nothing new (no flow counted twice)."""
    if connection.vendor != "postgresql":
        missing_service("advisory locks need PostgreSQL (DATABASE_URL); SQLite serialises writers anyway")

    threads, outcomes = _in_threads(lambda: customers_refresh(now=NOW).status, 3)
    for thread in threads:
        thread.join()

    assert outcomes == [CustomerRefresh.Status.DONE] * 3
    assert sum(StageDaily.objects.filter(date=TODAY).values_list("customers", flat=True)) == 7
    assert sum(StageFlow.objects.filter(date=TODAY).values_list("customers", flat=True)) == 7  # first seen, once

    with transaction.atomic():
        customers_lock()  # a refresh (or backfill) is running
        threads, outcomes = _in_threads(lambda: customers_refresh(now=NOW).status, 1)
        time.sleep(1.0)
        assert threads[0].is_alive()
        assert CustomerRefresh.objects.filter(status=CustomerRefresh.Status.STARTED).count() == 1
    threads[0].join(timeout=30)

    assert outcomes == [CustomerRefresh.Status.DONE]
    assert not CustomerRefresh.objects.filter(status=CustomerRefresh.Status.STARTED).exists()
