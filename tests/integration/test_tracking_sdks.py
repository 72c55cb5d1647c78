"""The real SDKs from PyPI against a served instance (pytest-django's live server): Segment's
``segment-analytics-python`` and ``posthog`` send an anonymous visit, then identify and a signup, then an order; the
funnel visit → signup → order_paid counts one person with the visit's channel; a retried send is stored once; a
malformed event is reported (the response's ``rejected`` and a warning in the log), not dropped silently."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, date, datetime

import pytest

from analytics.models import Event
from analytics.services.funnel import funnel_compute
from analytics.services.keys import ingest_key_create

segment_analytics = pytest.importorskip("segment.analytics")
posthog_sdk = pytest.importorskip("posthog")

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")
pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 11, 20)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, tzinfo=UTC)


def visit_signup_order() -> dict:
    return funnel_compute(steps=["visit", "signup", "order_paid"], window_days=7, date_from=DAY, date_to=DAY,
                          breakdown="channel")


@pytest.fixture
def raw_key(db):
    return ingest_key_create(name="sdk")[1]


def test_segment_python_sdk(live_server, raw_key, caplog):
    errors = []
    client = segment_analytics.Client(raw_key, host=f"{live_server.url}/api/v1/ingest/segment", sync_mode=True,
                                      on_error=lambda error, batch: errors.append(error), max_retries=0)
    client.page(anonymous_id="cookie-42", name="Home", properties={"path": "/"}, timestamp=at(1),
                context={"campaign": {"source": "wechat", "medium": "social", "name": "w48"}},
                message_id="ajs-next-visit-1")
    client.identify(user_id="alice", anonymous_id="cookie-42", traits={"plan": "free"}, timestamp=at(1, 5))
    client.track(user_id="alice", event="signup", timestamp=at(1, 6))
    order_id = str(uuid.uuid4())
    client.track(user_id="alice", event="order_paid", properties={"amount": 30, "order_id": "o-1"},
                 timestamp=at(2), message_id=order_id)
    client.track(user_id="alice", event="order_paid", properties={"amount": 30, "order_id": "o-1"},
                 timestamp=at(2), message_id=order_id)  # a retry
    with caplog.at_level(logging.WARNING, logger="analytics.ingest"):
        client.track(user_id="alice", event="order_paid", properties={"amount": 1},
                     timestamp=datetime(2027, 6, 1, tzinfo=UTC))  # beyond tomorrow: malformed

    assert errors == []
    assert Event.objects.filter(event="order_paid").count() == 1
    result = visit_signup_order()
    assert [step["count"] for step in result["steps"]] == [1, 1, 1]
    assert [group["value"] for group in result["breakdown"]] == ["wechat"]
    assert "1 of 1 messages rejected" in caplog.text and "timestamp" in caplog.text


def test_posthog_python_sdk(live_server, raw_key, caplog):
    client = posthog_sdk.Posthog(raw_key, host=f"{live_server.url}/api/v1/ingest/posthog", sync_mode=True,
                                 gzip=True, max_retries=0)
    client.capture("$pageview", distinct_id="device-7", timestamp=at(1),
                   properties={"$current_url": "https://shop.example/?utm_source=douyin", "utm_source": "douyin"})
    client.capture("$identify", distinct_id="bob", timestamp=at(1, 5), properties={"$anon_distinct_id": "device-7"})
    client.capture("signup", distinct_id="bob", timestamp=at(1, 6))
    order_uuid = str(uuid.uuid4())
    client.capture("order_paid", distinct_id="bob", timestamp=at(2), uuid=order_uuid, properties={"amount": 50})
    client.capture("order_paid", distinct_id="bob", timestamp=at(2), uuid=order_uuid, properties={"amount": 50})
    with caplog.at_level(logging.WARNING, logger="analytics.ingest"):
        client.capture("order_paid", distinct_id="bob", timestamp=at(3), properties={"amount": 1, "deep": {
            "a": {"b": {"c": {"d": {"e": 1}}}}}})  # nested too deep: malformed
    client.alias(previous_id="device-7", distinct_id="bob", timestamp=at(3))  # again, as an alias: no change
    client.shutdown()

    assert Event.objects.filter(event="order_paid").count() == 1
    result = visit_signup_order()
    assert [step["count"] for step in result["steps"]] == [1, 1, 1]
    assert [group["value"] for group in result["breakdown"]] == ["douyin"]
    assert "messages rejected" in caplog.text and "properties" in caplog.text
