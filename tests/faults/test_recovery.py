"""Recovery in minutes: a dead worker's task is redelivered once the visibility timeout (which fits the longest task)
has passed; the watchdog marks its run or export job failed within minutes and the desk says so; the owner retries a
failed export and gets the data as of the request; a failure is recorded on a fresh connection; a range carries on
past a failed week."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from analytics.models import AarrrDaily, ExportJob, MetricsRun
from analytics.services import exports as export_service
from analytics.services import metrics as metrics_service
from analytics.services.loading import events_load
from analytics.tasks import jobs_watchdog_task
from desk.models import Alert
from desk.rendering import alert_title
from desk.services.alerts import failed_job_alerts_store
from ops_platform.celery import app
from ops_platform.core.roles import Role
from tests.conftest import missing_service
from tests.factories import event_row, local_time

START = date(2026, 2, 2)


def test_the_visibility_timeout_fits_the_longest_task_and_is_minutes_not_an_hour():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    limits = {name: task.time_limit or app.conf.task_time_limit for name, task in ours.items()}
    visibility = app.conf.broker_transport_options["visibility_timeout"]

    assert len(ours) > 10
    assert max(limits.values()) == settings.LONGEST_TASK_TIME_LIMIT
    assert visibility >= settings.LONGEST_TASK_TIME_LIMIT + 120  # a running task is never handed out twice
    assert visibility <= 30 * 60  # kombu's default was an hour
    assert settings.JOB_STUCK_AFTER_SECONDS >= settings.LONGEST_TASK_TIME_LIMIT


def test_the_watchdog_fails_a_run_left_started_queues_its_days_again_and_the_desk_alerts(
        db, celery_eager, django_capture_on_commit_callbacks):
    events_load([event_row("visit", "ann", local_time(START, 10), channel="wechat")])
    stuck = MetricsRun.objects.create(date_from=START, date_to=START, trigger=MetricsRun.Trigger.BACKFILL)
    MetricsRun.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS + 1))
    running = MetricsRun.objects.create(date_from=START, date_to=START, trigger=MetricsRun.Trigger.BACKFILL)

    with django_capture_on_commit_callbacks(execute=True):
        result = jobs_watchdog_task.apply().get()

    assert result == {"runs": 1, "exports": 0}
    stuck.refresh_from_db()
    running.refresh_from_db()
    assert stuck.status == MetricsRun.Status.FAILED
    assert stuck.error.startswith("Abandoned")
    assert running.status == MetricsRun.Status.STARTED  # within its time limit: it may still be running
    again = MetricsRun.objects.exclude(pk__in=[stuck.pk, running.pk]).get()
    assert (again.date_from, again.status) == (START, MetricsRun.Status.DONE)
    assert list(AarrrDaily.objects.values_list("date", "acquisition")) == [(START, 1)]

    assert failed_job_alerts_store(since=timezone.now() - timedelta(hours=1)) == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.subject, alert.severity) == ("run_failed", f"metrics:{stuck.pk}", "critical")
    assert failed_job_alerts_store(since=timezone.now() - timedelta(hours=1)) == 0  # raised once


def _stuck_export(owner, settings, tmp_path) -> ExportJob:
    settings.MEDIA_ROOT = tmp_path
    job = export_service.export_job_create(kind="aarrr", params={"date_from": "2026-02-02", "date_to": "2026-02-08"},
                                           file_format="csv", created_by=owner)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.RUNNING, rows_done=12, rows_total=40,
        started_at=timezone.now() - timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS + 1))
    partial = tmp_path / "exports" / "tmp" / f"{job.id}.0a1b2c3d4e5f.csv"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a file")
    return job


def test_a_dead_workers_export_is_failed_its_partial_file_removed_and_its_owner_retries_it(
        db, make_staff, api_client_for, settings, tmp_path, celery_eager, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    events_load([event_row("visit", f"c{i}", local_time(START, 10), channel="wechat") for i in range(3)])
    metrics_service.metrics_run_execute(date_from=START, date_to=START + timedelta(days=6))
    owner = make_staff(Role.ANALYST)
    job = _stuck_export(owner, settings, tmp_path)

    assert jobs_watchdog_task.apply().get() == {"runs": 0, "exports": 1}
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == export_service.ABANDONED_EXPORT_ERROR
    assert not list((tmp_path / "exports" / "tmp").iterdir())
    assert failed_job_alerts_store(since=timezone.now() - timedelta(hours=1)) == 1
    alert = Alert.objects.get(subject=f"export:{job.pk}")
    assert alert.audience_user_id == owner.pk
    assert alert_title(alert.kind, alert.params) == "Your export (aarrr) stopped"

    client = APIClient()
    other = api_client_for(Role.ANALYST)
    assert other.post(f"/api/v1/analytics/exports/{job.id}/retry/").status_code == 404  # not theirs
    client.force_authenticate(owner)
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"/api/v1/analytics/exports/{job.id}/retry/")

    assert retried.status_code == 202
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert job.rows_done == job.rows_total == 1
    assert job.file.open("rb").read().decode("utf-8-sig").splitlines()[1].startswith("2026-02-02,wechat,3,")
    again = client.post(f"/api/v1/analytics/exports/{job.id}/retry/")
    assert again.status_code == 409
    assert again.json()["code"] == "not_retryable"


def test_the_exports_page_offers_its_owner_a_retry(db, make_staff, client, settings, tmp_path, celery_eager):
    owner = make_staff(Role.ANALYST)
    job = _stuck_export(owner, settings, tmp_path)
    jobs_watchdog_task.apply()
    client.force_login(owner)

    page = client.get("/analytics/exports/")
    assert 'data-testid="export-retry"' in page.content.decode()

    response = client.post(f"/analytics/exports/{job.id}/retry/")

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ExportJob.Status.QUEUED  # on the workers (queued after the test's transaction)


def test_a_failure_caused_by_a_lost_connection_is_recorded_on_a_fresh_one(transactional_db, monkeypatch):
    if connection.vendor != "postgresql":
        missing_service("terminating a backend needs PostgreSQL (DATABASE_URL)")

    def connection_lost(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(metrics_service, "aarrr_compute", connection_lost)

    with pytest.raises(Exception):  # noqa: B017 - the driver's error for a terminated backend
        metrics_service.metrics_run_execute(date_from=START, date_to=START)

    run = MetricsRun.objects.get()
    assert run.status == MetricsRun.Status.FAILED
    assert "terminat" in run.error.lower()


def test_compute_metrics_carries_on_past_a_failed_week_and_says_which(db, monkeypatch, capsys):
    events_load([event_row("visit", f"c{i}", local_time(START + timedelta(days=7 * i), 10), channel="wechat")
                 for i in range(3)])
    compute = metrics_service.aarrr_compute

    def second_week_fails(*, date_from, date_to):
        if date_from == START + timedelta(days=7):
            raise ValueError("bad week")
        return compute(date_from=date_from, date_to=date_to)

    monkeypatch.setattr(metrics_service, "aarrr_compute", second_week_fails)

    with pytest.raises(CommandError, match=r"1 of 3 run\(s\) failed: 2026-02-09 … 2026-02-15"):
        call_command("compute_metrics", "--from", "2026-02-02", "--to", "2026-02-22", verbosity=0)

    assert sorted(AarrrDaily.objects.values_list("date", flat=True)) == [START, START + timedelta(days=14)]
    assert "FAILED 2026-02-09 … 2026-02-15: ValueError: bad week" in capsys.readouterr().err
    assert sorted(MetricsRun.objects.values_list("status", flat=True)) == ["done", "done", "failed"]
