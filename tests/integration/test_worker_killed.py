"""A worker killed mid-task (kill -9 of its main process): Redis hands the task to another worker once the visibility
timeout has passed, and the rows are those of a clean run. The timeout is shortened to seconds for the test
(CELERY_VISIBILITY_TIMEOUT); in production it is the longest task's hard limit plus a margin (20 minutes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
import redis
from django.db import connection
from django.utils import timezone

from analytics.models import MetricsRun
from analytics.services.loading import events_load
from analytics.services.metrics import AARRR_STORE_LOCK
from analytics.tasks import compute_metrics_range
from tests.conftest import missing_service
from tests.integration.test_celery_worker import (
    EXPECTED_YESTERDAY,
    ROOT,
    WORKER_START_TIMEOUT,
    stored_rows,
    test_database_url,
    yesterday_events,
)

VISIBILITY_SECONDS = 3
REDELIVERY_TIMEOUT = 90


def _start_worker(queue: str, redis_url: str, log_path, at=None):
    env = dict(os.environ, DATABASE_URL=test_database_url(), REDIS_URL=redis_url,
               DJANGO_SETTINGS_MODULE="ops_platform.settings", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [sys.executable, "-m", "tests.pinned_clock", (at or timezone.now()).isoformat(),
               "celery", "-A", "ops_platform", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
               "-n", f"{queue}-{uuid.uuid4().hex[:4]}@{socket.gethostname()}", "--without-heartbeat",
               "--without-gossip", "--without-mingle", "-l", "INFO"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while " ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"celery worker exited with {process.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"celery worker not ready after {WORKER_START_TIMEOUT}s:\n{log_path.read_text()}")
        time.sleep(0.2)
    return process


def _stop(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_was_killed_finishes_on_another_with_the_clean_rows(redis_url, tmp_path):
    if connection.vendor != "postgresql":
        missing_service("a worker process needs a shared PostgreSQL database (DATABASE_URL)")
    yesterday, rows = yesterday_events()
    events_load(rows)
    queue = f"it-killed-{uuid.uuid4().hex[:10]}"
    # Redis keeps every worker's unacknowledged messages in one index per database, scored by the delivering worker's
    # clock, and a restore scan takes the 10 most recent stale ones. Every test's clock starts at the same pinned
    # instant, so messages a finished test's dead workers left there score like this test's own and are restored
    # first, 10 a scan: start from an empty index (and no mutex left by a worker killed mid-scan).
    leftovers = redis.Redis.from_url(redis_url)
    leftovers.delete("unacked", "unacked_index", "unacked_mutex")
    leftovers.close()
    db = connection.settings_dict
    blocker = psycopg.connect(dbname=db["NAME"], user=db["USER"] or None, password=db["PASSWORD"] or None,
                              host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=True)
    first = second = None
    try:
        # The task will wait on the lock every writer of the AARRR rows takes: it is mid-task when its worker dies.
        blocker.execute("SELECT pg_advisory_lock(%s)", [AARRR_STORE_LOCK])
        first = _start_worker(queue, redis_url, tmp_path / "first.log")
        compute_metrics_range.apply_async((yesterday.isoformat(), yesterday.isoformat()), queue=queue)
        deadline = time.monotonic() + 60
        while not MetricsRun.objects.filter(status=MetricsRun.Status.STARTED).exists():
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        blocker.execute("SELECT pg_advisory_unlock(%s)", [AARRR_STORE_LOCK])

        # Kombu scans for stale unacknowledged messages 10 s after a worker starts, then only every 100 s: the second
        # worker's clock starts past the visibility timeout of the dead one's delivery, so its first scan finds it.
        client = redis.Redis.from_url(redis_url)
        delivered = max(score for _, score in client.zrange("unacked_index", 0, -1, withscores=True))
        client.close()
        started = time.monotonic()
        second = _start_worker(queue, redis_url, tmp_path / "second.log",
                               at=datetime.fromtimestamp(delivered + VISIBILITY_SECONDS + 1, UTC))
        while not MetricsRun.objects.filter(status=MetricsRun.Status.DONE).exists():
            assert time.monotonic() - started < REDELIVERY_TIMEOUT, (tmp_path / "second.log").read_text()
            time.sleep(0.5)
        print(f"redelivered and finished {time.monotonic() - started:.1f} s after the second worker started")
    finally:
        blocker.close()
        for process in (first, second):
            if process is not None:
                _stop(process)
        client = redis.Redis.from_url(redis_url)
        stale = list(client.scan_iter(match=f"*{queue}*"))
        if stale:
            client.delete(*stale)
        client.close()

    assert stored_rows(yesterday) == EXPECTED_YESTERDAY  # the rows of a clean run
    assert MetricsRun.objects.filter(status=MetricsRun.Status.STARTED).count() == 1  # the dead one, for the watchdog
