from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from analytics.services.keys import ingest_key_create

BATCH_URL = "/api/v1/events/batch/"
# The report engines that can run on this database: pandas everywhere, SQL on PostgreSQL.
POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
ENGINES = ["pandas", "sql"] if POSTGRES else ["pandas"]
# The funnel has one more on PostgreSQL: the event columns, read around unbuilt days or built first.
FUNNEL_ENGINES = [*ENGINES, "columns", "columns (built)"] if POSTGRES else ENGINES


@pytest.fixture(params=ENGINES)
def engine(request, db):
    return request.param


@pytest.fixture
def ingest_key(db):
    """(IngestKey, its secret), with a clean throttle history."""
    key, raw_key = ingest_key_create(name="marketplace")
    cache.delete(f"throttle_ingest_{key.pk}")
    yield key, raw_key
    cache.delete(f"throttle_ingest_{key.pk}")


@pytest.fixture
def post_batch(ingest_key):
    """post_batch(events) → the response to {"batch": events} sent with the fixture's key (or ``key=``)."""
    client = APIClient()

    def post(batch=None, *, body: bytes | str | None = None, key: str | None = ingest_key[1], **extra):
        if body is None:
            body = json.dumps({"batch": batch})
        headers = {"HTTP_X_INGEST_KEY": key} if key is not None else {}
        return client.generic("POST", BATCH_URL, data=body, content_type="application/json", **headers, **extra)

    return post
