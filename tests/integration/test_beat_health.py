"""Celery beat's health check (docker-compose.yml): a real ``celery beat`` process touches its heartbeat file on every
tick, and ``python -m ops_platform.beat_health`` says healthy only while the file is fresh."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import missing_service
from tests.integration.test_celery_worker import test_database_url

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 90


def health(heartbeat: Path, **extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CELERY_BEAT_HEARTBEAT_FILE=str(heartbeat), **extra)
    return subprocess.run([sys.executable, "-m", "ops_platform.beat_health"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_health_check_fails_without_a_heartbeat_and_when_it_is_stale(tmp_path):
    heartbeat = tmp_path / "beat.alive"
    missing = health(heartbeat)
    heartbeat.touch()
    fresh = health(heartbeat)
    touched = heartbeat.stat().st_mtime  # the file system's clock: the real one (the test's clock is pinned)
    os.utime(heartbeat, (touched - 600, touched - 600))
    stale = health(heartbeat)

    assert missing.returncode == 1 and "has not ticked yet" in missing.stderr
    assert fresh.returncode == 0, fresh.stderr
    assert stale.returncode == 1 and "last ticked 60" in stale.stderr


def test_a_running_beat_keeps_its_heartbeat_fresh(redis_url, transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        missing_service("a beat process needs a shared PostgreSQL database (DATABASE_URL)")
    heartbeat = tmp_path / "beat.alive"
    env = dict(os.environ, DATABASE_URL=test_database_url(), REDIS_URL=redis_url,
               DJANGO_SETTINGS_MODULE="ops_platform.settings", CELERY_BEAT_HEARTBEAT_FILE=str(heartbeat))
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "beat.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "ops_platform", "beat", "-l", "INFO",
                                    "--pidfile", str(tmp_path / "beat.pid")],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not heartbeat.exists():
            if process.poll() is not None:
                pytest.fail(f"celery beat exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery beat wrote no heartbeat in {START_TIMEOUT}s:\n{log_path.read_text()}")
            time.sleep(0.5)
        first = heartbeat.stat().st_mtime
        time.sleep(7)  # the database scheduler ticks at least every 5 s

        assert heartbeat.stat().st_mtime > first
        assert health(heartbeat).returncode == 0
        assert "HeartbeatScheduler" in log_path.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
