"""Life-cycle history backfill: per-day counts and flows equal to the refresh's rules on every past day."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.services.loading import events_load
from tests.factories import event_row, local_time
from users.models import Customer, LifecycleSettings, StageDaily, StageFlow
from users.services.customers import customers_refresh
from users.services.lifecycle_history import lifecycle_history_backfill

LAST = date(2026, 6, 30)  # the last day with events
START = LAST - timedelta(days=119)


@pytest.fixture
def history(db):
    """30 customers over 120 days: visits, and orders for some, with gaps long enough to churn and come back."""
    rng = random.Random(11)
    rows, log = [], {}
    for n in range(30):
        who = f"h{n}"
        first = START + timedelta(days=rng.randint(0, 100))
        days = sorted({first} | {first + timedelta(days=rng.randint(0, (LAST - first).days))
                                 for _ in range(rng.choice([0, 1, 3, 6]))})
        orders = [d for d in days if rng.random() < 0.5] if n % 3 else []
        for d in days:
            rows.append(event_row("visit", who, local_time(d, 9), channel="wechat"))
        for k, d in enumerate(orders):
            rows.append(event_row("order_paid", who, local_time(d, 12), order_id=f"{who}-{k}", amount=10,
                                  merchant_id="m"))
        log[who] = (days, orders)
    events_load(rows)
    return log


def brute_stage(days, orders, label: date, t: LifecycleSettings) -> str | None:
    """The refresh's rules for one customer as of ``label`` 00:00, on whole days (events at 09:00 / 12:00)."""
    seen = [d for d in days if d < label]
    if not seen:
        return None
    paid = [d for d in orders if d < label]

    def within(day, n):
        return day >= label - timedelta(days=n)

    if not paid:
        return "new" if within(seen[0], t.new_days) else ("at_risk" if within(seen[-1], t.active_days) else "churned")
    recent = sum(1 for d in paid if within(d, t.active_days))
    since_gap = sum(1 for d in paid if within(d, t.active_days + t.churn_days))
    if recent > 0 and since_gap == recent and len(paid) > since_gap:
        return "resurrected"
    if len(paid) == 1 and within(paid[0], t.active_days):
        return "activated"
    if within(paid[-1], t.active_days):
        return "active"
    return "at_risk" if within(paid[-1], t.churn_days) else "churned"


def recorded() -> tuple[list, list]:
    return (list(StageDaily.objects.order_by("date", "stage").values_list("date", "stage", "customers")),
            list(StageFlow.objects.order_by("date", "from_stage", "to_stage")
                 .values_list("date", "from_stage", "to_stage", "customers")))


def set_thresholds(new: int, active: int, churn: int) -> None:
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"new_days": new, "active_days": active,
                                                               "churn_days": churn})


@pytest.mark.parametrize("thresholds", [(14, 30, 45), (3, 10, 20)])
def test_every_day_counts_and_flows_follow_the_refresh_rules(history, thresholds):
    new, active, churn = thresholds
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"new_days": new, "active_days": active,
                                                               "churn_days": churn})
    t = LifecycleSettings.objects.get(pk=1)

    written = lifecycle_history_backfill(date_to=LAST + timedelta(days=1))

    first_day = min(days[0] for days, _orders in history.values())
    assert written == (LAST - first_day).days + 1  # from the day after the first event to the refresh day
    for offset in range(1, 121):
        label = START + timedelta(days=offset)
        stages = {who: brute_stage(days, orders, label, t) for who, (days, orders) in history.items()}
        before = {who: brute_stage(days, orders, label - timedelta(days=1), t) for who, (days, orders) in
                  history.items()}
        expected = Counter(s for s in stages.values() if s)
        assert dict(StageDaily.objects.filter(date=label).values_list("stage", "customers")) == expected, label
        moves = Counter((before[who] or "", s) for who, s in stages.items() if s and s != before[who])
        assert {(f.from_stage, f.to_stage): f.customers for f in StageFlow.objects.filter(date=label)} == moves, label


def test_the_last_day_matches_the_refresh_and_a_second_run_changes_nothing(history):
    refresh_day = LAST + timedelta(days=1)
    customers_refresh(now=local_time(refresh_day, 0))
    refreshed = Counter(Customer.objects.values_list("stage", flat=True))

    lifecycle_history_backfill(date_to=refresh_day, replace=True)
    first = recorded()
    lifecycle_history_backfill(date_to=refresh_day, replace=True)

    assert dict(StageDaily.objects.filter(date=refresh_day).values_list("stage", "customers")) == refreshed
    assert recorded() == first
    assert sum(StageFlow.objects.filter(from_stage="").values_list("customers", flat=True)) == 30


def test_no_events_writes_nothing(db):
    assert lifecycle_history_backfill(date_to=LAST) == 0
    assert not StageDaily.objects.exists()


def test_the_command_fills_the_history(history):
    out = StringIO()
    call_command("backfill_lifecycle", "--to", (LAST + timedelta(days=1)).isoformat(), stdout=out)

    assert "days written up to 2026-07-01" in out.getvalue()
    assert StageDaily.objects.filter(date=LAST + timedelta(days=1)).exists()


@pytest.mark.parametrize("thresholds", [(14, 30, 45), (3, 10, 20), (40, 5, 7)])
def test_blocks_of_people_and_a_later_start_give_the_same_rows(history, thresholds):
    """Blocks of 1 or 2 person ids add up to the one-block answer; a --from window (earlier history folded into the
    grid's first column) gives the same days as the whole history."""
    set_thresholds(*thresholds)
    refresh_day = LAST + timedelta(days=1)
    lifecycle_history_backfill(date_to=refresh_day, block_people=1_000_000)
    whole = recorded()
    for block in (1, 2, 7):
        lifecycle_history_backfill(date_to=refresh_day, replace=True, block_people=block)
        assert recorded() == whole, block

    for start in (LAST - timedelta(days=10), START + timedelta(days=40), START + timedelta(days=90)):
        StageDaily.objects.all().delete()
        StageFlow.objects.all().delete()
        written = lifecycle_history_backfill(date_from=start, date_to=refresh_day, block_people=3)
        assert written == (refresh_day - start).days + 1
        assert recorded() == ([row for row in whole[0] if row[0] >= start],
                              [row for row in whole[1] if row[0] >= start]), start


def test_by_default_only_the_days_before_the_first_recorded_day_are_filled(history):
    """The nightly refreshes' rows (recorded with the thresholds of their day) are kept; --replace or --from
    replaces them."""
    refresh_day = LAST + timedelta(days=1)
    customers_refresh(now=local_time(refresh_day, 0))
    nightly = recorded()
    set_thresholds(3, 10, 20)  # the thresholds changed since

    out = StringIO()
    call_command("backfill_lifecycle", "--to", refresh_day.isoformat(), stdout=out)

    first_day = min(days[0] for days, _orders in history.values())
    assert f"{(LAST - first_day).days} days written" in out.getvalue()
    after = recorded()
    assert [row for row in after[0] if row[0] == refresh_day] == nightly[0]
    assert [row for row in after[1] if row[0] == refresh_day] == nightly[1]
    assert min(row[0] for row in after[0]) == first_day + timedelta(days=1)

    call_command("backfill_lifecycle", stdout=StringIO())  # nothing left before the first recorded day
    assert recorded() == after

    call_command("backfill_lifecycle", "--to", refresh_day.isoformat(), "--replace", stdout=StringIO())
    replaced = recorded()
    assert [row for row in replaced[0] if row[0] < refresh_day] == [row for row in after[0] if row[0] < refresh_day]
    lifecycle_history_backfill(date_to=refresh_day, block_people=1_000_000, replace=True)
    assert recorded() == replaced
    set_thresholds(14, 30, 45)
    call_command("backfill_lifecycle", "--from", refresh_day.isoformat(), "--to", refresh_day.isoformat(),
                 stdout=StringIO())
    assert [row for row in recorded()[0] if row[0] == refresh_day] == nightly[0]
