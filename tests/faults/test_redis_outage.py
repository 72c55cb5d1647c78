"""Redis is not a single point of failure for the API: with a private redis-server stopped, ingestion still stores
events, the API answers (throttles count locally), /health/ names what is down, and queueing work answers 503 without
leaving a job "queued" for ever."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import Event, ExportJob
from analytics.services.keys import ingest_key_create
from ops_platform.core.roles import Role

BATCH_URL = "/api/v1/events/batch/"


def _batch(n: int) -> list[dict]:
    at = (timezone.now() - timedelta(hours=1)).isoformat()
    return [{"uuid": str(uuid.uuid4()), "event": "visit", "distinct_id": f"c{i}", "timestamp": at,
             "properties": {"channel": "ads"}} for i in range(n)]


def _post(raw_key: str, batch: list[dict]):
    return APIClient().generic("POST", BATCH_URL, data=json.dumps({"batch": batch}),
                               content_type="application/json", HTTP_X_INGEST_KEY=raw_key)


def test_health_reports_every_dependency_up(app_on_private_redis, db):
    response = APIClient().get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "cache": "ok", "broker": "ok"}
    assert body["checks"]["database"]["required"] is True
    assert body["checks"]["cache"]["required"] is False


def test_with_redis_stopped_ingestion_stores_events_and_health_says_what_is_down(app_on_private_redis, db,
                                                                                   api_client_for, caplog):
    _key, raw_key = ingest_key_create(name="marketplace")
    assert _post(raw_key, _batch(5)).status_code == 200  # throttle counters in Redis

    app_on_private_redis.stop()
    batch = _batch(200)
    responses = [_post(raw_key, batch[i:i + 50]) for i in range(0, 200, 50)]

    assert [r.status_code for r in responses] == [200] * 4
    assert sum(r.json()["accepted"] for r in responses) == 200
    assert Event.objects.filter(uuid__in=[e["uuid"] for e in batch]).count() == 200
    assert "Redis cache unavailable" in caplog.text
    # A staff member's API read (user throttle) still answers.
    assert api_client_for(Role.ANALYST).get("/api/v1/analytics/metrics-runs/").status_code == 200

    health = APIClient().get("/health/")
    assert health.status_code == 200  # the web can serve: degraded, not down
    body = health.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["broker"]["status"] == "down"
    assert "Error" in body["checks"]["cache"]["error"]


def test_health_is_503_when_a_required_dependency_is_down(app_on_private_redis, db, settings):
    settings.HEALTH_REQUIRED = ["database", "cache"]
    app_on_private_redis.stop()

    response = APIClient().get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["cache"]["status"] == "down"


def test_redis_back_ends_the_degraded_state(app_on_private_redis, db):
    app_on_private_redis.stop()
    assert APIClient().get("/health/").json()["status"] == "degraded"

    app_on_private_redis.start()

    assert APIClient().get("/health/").json()["status"] == "ok"


def test_an_export_while_the_broker_is_down_is_a_503_and_leaves_no_queued_job(app_on_private_redis, transactional_db,
                                                                               api_client_for):
    client = api_client_for(Role.ANALYST)
    app_on_private_redis.stop()

    response = client.post("/api/v1/analytics/exports/", {
        "kind": "aarrr", "file_format": "csv", "params": {"date_from": "2026-11-01", "date_to": "2026-11-07"}},
        format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["code"] == "service_unavailable"
    assert set(response.json()) == {"message", "code", "errors"}
    assert not ExportJob.objects.filter(status=ExportJob.Status.QUEUED).exists()
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.FAILED
    assert "task queue" in job.error


def test_a_backfill_while_the_broker_is_down_is_a_503(app_on_private_redis, transactional_db, api_client_for):
    client = api_client_for(Role.ADMIN)
    app_on_private_redis.stop()

    response = client.post("/api/v1/analytics/metrics-runs/backfill/", {"date_from": "2026-11-01",
                                                                "date_to": "2026-11-07"}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
