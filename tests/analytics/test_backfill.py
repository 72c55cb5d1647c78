"""Backfills split into week-long runs; runs a dead worker left behind are recomputed by the nightly job."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import AarrrDaily, MetricsRun
from analytics.services.loading import events_load
from analytics.services.metrics import date_chunks, metrics_runs_recover
from analytics.tasks import compute_metrics_nightly
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

START = date(2026, 2, 2)

pytestmark = pytest.mark.usefixtures("celery_eager")


def visits_on(days: list[date]) -> None:
    events_load([event_row("visit", f"c{i}", local_time(day, 10), channel="wechat") for i, day in enumerate(days)])


def test_date_chunks_cover_the_range_in_weeks():
    assert date_chunks(date_from=START, date_to=START + timedelta(days=15)) == [
        (START, START + timedelta(days=6)),
        (START + timedelta(days=7), START + timedelta(days=13)),
        (START + timedelta(days=14), START + timedelta(days=15)),
    ]
    assert date_chunks(date_from=START, date_to=START) == [(START, START)]


def test_backfill_api_queues_week_long_runs(api_client_for, django_capture_on_commit_callbacks):
    visits_on([START, START + timedelta(days=8), START + timedelta(days=20)])

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(Role.ANALYST).post("/api/v1/analytics/metrics-runs/backfill/",
                                                     {"date_from": "2026-02-02", "date_to": "2026-02-22"},
                                                     format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": 3, "date_from": "2026-02-02", "date_to": "2026-02-22"}
    runs = MetricsRun.objects.order_by("date_from")
    assert [(r.date_from, r.date_to, r.trigger, r.status) for r in runs] == [
        (START, START + timedelta(days=6), "backfill", "done"),
        (START + timedelta(days=7), START + timedelta(days=13), "backfill", "done"),
        (START + timedelta(days=14), START + timedelta(days=20), "backfill", "done"),
    ]
    assert sorted(AarrrDaily.objects.values_list("date", flat=True)) == [
        START, START + timedelta(days=8), START + timedelta(days=20)]


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.PM])
def test_only_analysts_and_admins_may_backfill(api_client_for, role):
    response = api_client_for(role).post("/api/v1/analytics/metrics-runs/backfill/",
                                         {"date_from": "2026-02-02", "date_to": "2026-02-08"}, format="json")

    assert response.status_code == 403
    assert not MetricsRun.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"date_from": "2026-02-09", "date_to": "2026-02-08"}, "date_from"),
    ({"date_from": "2026-02-02"}, "date_to"),
    ({"date_from": "2026-02-02", "date_to": "2999-01-01"}, "date_to"),
    ({"date_from": "02/02/2026", "date_to": "2026-02-08"}, "date_from"),
])
def test_backfill_refuses_bad_ranges(api_client_for, body, field):
    response = api_client_for(Role.ADMIN).post("/api/v1/analytics/metrics-runs/backfill/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not MetricsRun.objects.exists()


def test_recover_marks_abandoned_runs_failed_and_returns_their_ranges(db):
    abandoned = MetricsRun.objects.create(date_from=START, date_to=START + timedelta(days=6))
    MetricsRun.objects.filter(pk=abandoned.pk).update(started_at=timezone.now() - timedelta(hours=5))
    running = MetricsRun.objects.create(date_from=START, date_to=START)  # just started: left alone

    ranges = metrics_runs_recover()

    assert ranges == [(START, START + timedelta(days=6))]
    abandoned.refresh_from_db()
    running.refresh_from_db()
    assert abandoned.status == MetricsRun.Status.FAILED
    assert abandoned.error.startswith("Abandoned")
    assert running.status == MetricsRun.Status.STARTED


def test_nightly_job_recomputes_what_a_dead_worker_left(db, django_capture_on_commit_callbacks):
    visits_on([START])
    abandoned = MetricsRun.objects.create(date_from=START, date_to=START)
    MetricsRun.objects.filter(pk=abandoned.pk).update(started_at=timezone.now() - timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        compute_metrics_nightly.apply()

    recomputed = MetricsRun.objects.filter(trigger=MetricsRun.Trigger.BACKFILL).get()
    assert (recomputed.date_from, recomputed.status, recomputed.rows) == (START, "done", 1)
    assert MetricsRun.objects.filter(trigger=MetricsRun.Trigger.NIGHTLY, status="done").count() == 1


def test_compute_metrics_queue_option_sends_the_range_to_the_workers(db, capsys, django_capture_on_commit_callbacks):
    visits_on([START])

    with django_capture_on_commit_callbacks(execute=True):
        call_command("compute_metrics", "--from", "2026-02-02", "--to", "2026-02-15", "--queue")

    assert "Queued 2 task(s)" in capsys.readouterr().out
    assert MetricsRun.objects.filter(trigger="backfill", status="done").count() == 2
