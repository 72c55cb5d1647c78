"""A database connection lost mid-request is a 503 in the API's error format with Retry-After, not Django's HTML
500; the batch is all-or-nothing and its exact retry stores every event once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import psycopg
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import Event, EventCountHourly
from analytics.services.keys import ingest_key_create
from ops_platform.core.roles import Role
from tests.conftest import missing_service

BATCH_URL = "/api/v1/events/batch/"


def _raw_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=db["USER"] or None, password=db["PASSWORD"] or None,
                           host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=True)


def _post(raw_key: str, batch: list[dict]):
    return APIClient().generic("POST", BATCH_URL, data=json.dumps({"batch": batch}),
                               content_type="application/json", HTTP_X_INGEST_KEY=raw_key)


def test_a_connection_terminated_mid_batch_is_a_503_and_the_exact_retry_stores_each_event_once(transactional_db):
    if connection.vendor != "postgresql":
        missing_service("terminating a backend needs PostgreSQL (DATABASE_URL)")
    _key, raw_key = ingest_key_create(name="marketplace")
    at = (timezone.now() - timedelta(hours=2)).isoformat()
    batch = [{"uuid": str(uuid.uuid4()), "event": "visit", "distinct_id": f"c{i}", "timestamp": at,
              "properties": {"channel": "ads"}} for i in range(300)]
    answers = {}

    def send() -> None:
        try:
            answers["first"] = _post(raw_key, batch)
        finally:
            connection.close()  # this thread's connection, terminated

    blocker = _raw_connection()
    killer = _raw_connection()
    try:
        # Hold the hourly counters so that the batch's statement waits inside the request, then end its backend.
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {EventCountHourly._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 30
        while True:
            waiting = killer.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query LIKE %s", ["%unnest%"]).fetchall()
            if waiting:
                break
            assert time.monotonic() < deadline, "the batch never reached its statement"
            time.sleep(0.05)
        assert killer.execute("SELECT pg_terminate_backend(%s)", [waiting[0][0]]).fetchone()[0] is True
        thread.join(30)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        killer.close()

    first = answers["first"]
    assert first.status_code == 503
    assert first["Retry-After"] == "5"
    assert first["Content-Type"] == "application/json"
    assert first.json() == {"message": "The database is unavailable for a moment. Send the same request again.",
                            "code": "database_unavailable", "errors": {}}
    uuids = [event["uuid"] for event in batch]
    assert Event.objects.filter(uuid__in=uuids).count() == 0  # all or nothing

    retry = _post(raw_key, batch)

    assert retry.status_code == 200
    assert retry.json() == {"accepted": 300, "duplicates": 0, "rejected": []}
    assert Event.objects.filter(uuid__in=uuids).count() == 300
    assert _post(raw_key, batch).json() == {"accepted": 0, "duplicates": 300, "rejected": []}


def test_a_database_error_on_a_staff_endpoint_is_a_503_in_the_error_format(api_client_for, monkeypatch):
    from analytics import apis

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(apis.MetricsRunListApi, "get_queryset", lost)

    response = api_client_for(Role.ANALYST).get("/api/v1/analytics/metrics-runs/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"


def test_health_is_503_when_the_database_is_down(db, monkeypatch):
    from ops_platform.core import health

    def refused():
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", refused)

    response = APIClient().get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["database"] == {
        "required": True, "status": "down", "error": "OperationalError: connection refused",
        "ms": response.json()["checks"]["database"]["ms"]}
