"""Fixtures for the user-operations tests: a few customers built from crafted events through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.services.loading import events_load
from tests.factories import event_row
from users.services.customers import customers_refresh


@pytest.fixture
def customers(db):
    """alice (wechat, 2 orders), bob (douyin, referred by alice, no order), carol (organic, 1 order)."""
    now = timezone.now()
    events_load([
        event_row("visit", "alice", now - timedelta(days=20), channel="wechat", utm_source="wx"),
        event_row("signup", "alice", now - timedelta(days=20) + timedelta(minutes=5)),
        event_row("order_paid", "alice", now - timedelta(days=10), order_id="1", amount=30, merchant_id="m"),
        event_row("order_paid", "alice", now - timedelta(days=2), order_id="2", amount=20, merchant_id="m"),
        event_row("visit", "bob", now - timedelta(days=3), channel="douyin"),
        event_row("signup", "bob", now - timedelta(days=3) + timedelta(minutes=5), referrer="alice"),
        event_row("visit", "carol", now - timedelta(days=40), channel="organic"),
        event_row("order_paid", "carol", now - timedelta(days=39), order_id="3", amount=12, merchant_id="m"),
    ])
    customers_refresh()
