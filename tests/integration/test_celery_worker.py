"""The nightly job through a real broker and a real Celery worker process.

The worker is another process: it sees only committed data, so these tests use
``django_db(transaction=True)`` and point the worker at the test database. Needs PostgreSQL and Redis
(skipped on a bare machine, a failure in CI).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone

from analytics.models import AarrrDaily, MetricsRun
from analytics.services import metrics as metrics_service
from analytics.services.loading import events_load
from analytics.tasks import compute_metrics_nightly, metrics_backfill_queue
from tests.conftest import missing_service
from tests.factories import event_row, local_time

ROOT = Path(__file__).resolve().parent.parent.parent
WORKER_START_TIMEOUT = 90
TASK_TIMEOUT = 60


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (test_<name>), for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture
def metrics_worker(redis_url, transactional_db, tmp_path):
    """A real ``celery worker`` on a queue of its own, stopped (terminate, wait, kill) afterwards."""
    if connection.vendor != "postgresql":
        missing_service("a worker process needs a shared PostgreSQL database (DATABASE_URL)")
    queue = f"it-metrics-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    env = dict(os.environ, DATABASE_URL=test_database_url(), REDIS_URL=redis_url,
               DJANGO_SETTINGS_MODULE="ops_platform.settings")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # The worker runs on the test's pinned clock: "yesterday" for the nightly job is the test's yesterday.
    command = [sys.executable, "-m", "tests.pinned_clock", timezone.now().isoformat(),
               "celery", "-A", "ops_platform", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
               "-n", f"{queue}@{socket.gethostname()}", "--without-heartbeat", "--without-gossip",
               "--without-mingle", "-l", "INFO"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery worker not ready after {WORKER_START_TIMEOUT}s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        client = redis.Redis.from_url(redis_url)
        stale = list(client.scan_iter(match=f"*{queue}*"))  # the queue and kombu's bindings
        if stale:
            client.delete(*stale)
        client.close()
        print(log_path.read_text(errors="replace")[-4000:])  # shown by pytest when the test failed


def yesterday_events():
    """Events around yesterday (local days); the expected AARRR rows for yesterday are below."""
    today = timezone.localdate()
    yesterday, day_before = today - timedelta(days=1), today - timedelta(days=2)
    return yesterday, [
        # alice: first visit, sign-up and first order yesterday (WeChat)
        event_row("visit", "alice", local_time(yesterday, 9), channel="wechat"),
        event_row("signup", "alice", local_time(yesterday, 9, 10)),
        event_row("order_paid", "alice", local_time(yesterday, 10), order_id="o1", amount=88.5, merchant_id="M1"),
        # bob: came the day before and ordered; ordered again yesterday = retained (WeChat)
        event_row("visit", "bob", local_time(day_before, 20), channel="wechat"),
        event_row("signup", "bob", local_time(day_before, 20, 5)),
        event_row("order_paid", "bob", local_time(day_before, 21), order_id="o2", amount=30, merchant_id="M1"),
        event_row("order_paid", "bob", local_time(yesterday, 11), order_id="o3", amount=45.5, merchant_id="M2"),
        # carol: 00:30 local yesterday is still the day before in UTC; referred by alice (Douyin)
        event_row("visit", "carol", local_time(yesterday, 0, 30), channel="douyin"),
        event_row("signup", "carol", local_time(yesterday, 0, 40), referrer="alice"),
        # dave: today, not yesterday
        event_row("visit", "dave", local_time(today, 0, 10), channel="douyin"),
    ]


EXPECTED_YESTERDAY = {
    "wechat": {"acquisition": 1, "activation": 1, "retention": 1, "revenue": Decimal("134.00"),
               "paying_customers": 2, "referral": 1},
    "douyin": {"acquisition": 1, "activation": 1, "retention": 0, "revenue": Decimal("0.00"),
               "paying_customers": 0, "referral": 0},
}


def stored_rows(day) -> dict:
    return {
        row.channel: {"acquisition": row.acquisition, "activation": row.activation, "retention": row.retention,
                      "revenue": row.revenue, "paying_customers": row.paying_customers, "referral": row.referral}
        for row in AarrrDaily.objects.filter(date=day)
    }


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_nightly_job_runs_on_a_real_worker(metrics_worker):
    yesterday, rows = yesterday_events()
    assert events_load(rows).inserted == len(rows)

    result = compute_metrics_nightly.apply_async(queue=metrics_worker)
    run_id = result.get(timeout=TASK_TIMEOUT)
    result.forget()

    run = MetricsRun.objects.get(pk=run_id)
    assert run.status == MetricsRun.Status.DONE
    assert run.trigger == MetricsRun.Trigger.NIGHTLY
    assert (run.date_from, run.date_to) == (yesterday, yesterday)
    assert run.rows == 2
    assert run.error == ""
    assert run.finished_at is not None
    assert stored_rows(yesterday) == EXPECTED_YESTERDAY
    assert not AarrrDaily.objects.exclude(date=yesterday).exists()

    # Every task can run twice: the second run replaces the day's rows with the same figures.
    again = compute_metrics_nightly.apply_async(queue=metrics_worker)
    second_id = again.get(timeout=TASK_TIMEOUT)
    again.forget()

    assert second_id != run_id
    assert MetricsRun.objects.get(pk=second_id).status == MetricsRun.Status.DONE
    assert stored_rows(yesterday) == EXPECTED_YESTERDAY
    assert AarrrDaily.objects.count() == 2


# A failing run is recorded (in process: the failure is injected with monkeypatch)


def _boom(**kwargs):
    raise RuntimeError("the warehouse is on fire")


def test_a_failing_nightly_run_is_recorded_and_keeps_the_stored_rows(db, monkeypatch):
    yesterday = timezone.localdate() - timedelta(days=1)
    kept = AarrrDaily.objects.create(date=yesterday, channel="wechat", acquisition=7)
    monkeypatch.setattr(metrics_service, "aarrr_compute", _boom)

    result = compute_metrics_nightly.apply()

    assert result.failed()
    assert isinstance(result.result, RuntimeError)
    run = MetricsRun.objects.get()
    assert run.status == MetricsRun.Status.FAILED
    assert run.trigger == MetricsRun.Trigger.NIGHTLY
    assert run.error == "RuntimeError: the warehouse is on fire"
    assert run.finished_at is not None
    assert list(AarrrDaily.objects.values_list("pk", "acquisition")) == [(kept.pk, 7)]


def test_a_run_failing_while_storing_rolls_the_day_back(db, monkeypatch):
    yesterday, rows = yesterday_events()
    events_load(rows)
    kept = AarrrDaily.objects.create(date=yesterday, channel="wechat", acquisition=7)

    def failing_bulk_create(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AarrrDaily.objects, "bulk_create", failing_bulk_create)

    with pytest.raises(RuntimeError, match="disk full"):
        metrics_service.metrics_run_execute(date_from=yesterday, date_to=yesterday)

    run = MetricsRun.objects.get()
    assert run.status == MetricsRun.Status.FAILED
    assert run.error == "RuntimeError: disk full"
    assert list(AarrrDaily.objects.values_list("pk", "acquisition")) == [(kept.pk, 7)]


def test_same_figures_in_process(db):
    """The expectations of the worker test hold in process too (runs on every database)."""
    yesterday, rows = yesterday_events()
    events_load(rows)

    run = metrics_service.metrics_run_execute(date_from=yesterday, date_to=yesterday, trigger="nightly")

    assert run.status == MetricsRun.Status.DONE
    assert stored_rows(yesterday) == EXPECTED_YESTERDAY


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backfill_runs_as_parallel_tasks_on_a_real_worker(metrics_worker, celery_conf):
    yesterday, rows = yesterday_events()
    events_load(rows)
    celery_conf(task_default_queue=metrics_worker)  # where this test's worker listens

    queued = metrics_backfill_queue(date_from=yesterday - timedelta(days=13), date_to=yesterday)

    assert queued == 2
    deadline = time.monotonic() + TASK_TIMEOUT
    while MetricsRun.objects.filter(status=MetricsRun.Status.DONE).count() < 2:
        assert time.monotonic() < deadline, list(MetricsRun.objects.values("status", "error"))
        time.sleep(0.2)
    assert set(MetricsRun.objects.values_list("trigger", flat=True)) == {MetricsRun.Trigger.BACKFILL}
    assert stored_rows(yesterday) == EXPECTED_YESTERDAY
