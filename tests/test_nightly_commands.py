"""Every nightly job can also be run by hand: the commands call the same services as the beat tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.services.loading import events_load
from merchants.models import MerchantMetricsRun
from merchants.services.metrics import week_start
from tests.factories import MerchantFactory, event_row, local_time
from users.models import Customer, CustomerRefresh, Segment, SegmentSize

pytestmark = pytest.mark.django_db


def test_compute_merchant_metrics_computes_the_week_holding_the_date(capsys):
    day = timezone.localdate() - timedelta(days=3)
    merchant = MerchantFactory(code="M1", stage="live")
    events_load([event_row("order_paid", "alice", local_time(day, 12), order_id="o1", amount=30, merchant_id="M1")])

    call_command("compute_merchant_metrics", "--date", day.isoformat())

    run = MerchantMetricsRun.objects.get()
    assert (run.period_start, run.status, run.merchants) == (week_start(day), "done", 1)
    assert merchant.metrics.get().orders == 1
    assert f"Week of {week_start(day).isoformat()} (complete): 1 merchants" in capsys.readouterr().out


def test_compute_merchant_metrics_refuses_a_bad_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("compute_merchant_metrics", "--date", "last week")


def test_refresh_customers_refreshes_then_rebuilds_every_segment(capsys):
    day = timezone.localdate() - timedelta(days=2)
    events_load([event_row("visit", "alice", local_time(day, 9), channel="wechat"),
                 event_row("visit", "bob", local_time(day, 10), channel="douyin")])
    segment = Segment.objects.create(name="Big spenders", rules={"op": "and", "conditions": [
        {"field": "orders", "operator": "gte", "value": 1}]})
    events_load([event_row("order_paid", "alice", local_time(day, 12), order_id="o1", amount=30)])

    call_command("refresh_customers")

    assert Customer.objects.count() == 2
    assert CustomerRefresh.objects.get().trigger == "command"
    assert SegmentSize.objects.get(segment=segment).size == 1
    out = capsys.readouterr().out
    assert "Customers: 2" in out and "Segments rebuilt: 1." in out


def test_check_tracking_runs_the_nightly_checks(capsys, monkeypatch):
    seen = []
    monkeypatch.setattr("products.management.commands.check_tracking.tracking_checks_run_launched",
                        lambda: seen.append(True) or ["a", "b"])

    call_command("check_tracking")

    assert seen == [True]
    assert "2 tickets checked." in capsys.readouterr().out
