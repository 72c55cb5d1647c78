"""Referral on crafted sign-ups: tree, top referrers, K-factor per month and channel, fraud signals."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.services.loading import events_load
from tests.factories import event_row, local_time
from users.models import Customer
from users.selectors import invite_code_of, referral_fraud_signals, referral_k_factor, referral_top, referral_tree
from users.services.customers import customers_refresh


def at(day: int, hour: int = 10, minute: int = 0):
    return local_time(date(2026, 6, day), hour, minute)


@pytest.fixture
def referrals(db):
    """alice (wechat) brings bob, carol, dave within an hour (none orders); bob brings erin (who orders);
    frank (douyin) refers himself."""
    events_load([
        event_row("visit", "alice", at(1), channel="wechat"), event_row("signup", "alice", at(1, 11)),
        event_row("visit", "bob", at(2), channel="referral"),
        event_row("signup", "bob", at(2, 10, 5), referrer="alice"),
        event_row("visit", "carol", at(2), channel="referral"),
        event_row("signup", "carol", at(2, 10, 20), referrer="alice"),
        event_row("visit", "dave", at(2), channel="referral"),
        event_row("signup", "dave", at(2, 10, 50), referrer="alice"),
        event_row("visit", "erin", at(3), channel="referral"), event_row("signup", "erin", at(3, 11), referrer="bob"),
        event_row("order_paid", "erin", at(3, 12), order_id="e1", amount=40, merchant_id="m"),
        event_row("visit", "frank", at(4), channel="douyin"), event_row("signup", "frank", at(4, 11), referrer="frank"),
    ])
    customers_refresh()


def test_tree_goes_down_the_levels(referrals):
    tree = referral_tree(customer=Customer.objects.get(distinct_id="alice"))

    assert [[c["distinct_id"] for c in level["customers"]] for level in tree] == [["bob", "carol", "dave"], ["erin"]]


def test_top_referrers(referrals):
    top = referral_top()

    assert [(row["referrer"], row["referred"], row["buyers"]) for row in top] == [
        ("alice", 3, 0), ("bob", 1, 1), ("frank", 1, 0)]


def test_k_factor_per_month_and_referrer_channel(referrals):
    rows = referral_k_factor(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))

    assert rows == [
        {"month": "2026-06", "channel": "douyin", "signups": 1, "referred_signups": 1, "k_factor": 1.0},
        {"month": "2026-06", "channel": "referral", "signups": 4, "referred_signups": 1, "k_factor": 0.25},
        {"month": "2026-06", "channel": "wechat", "signups": 1, "referred_signups": 3, "k_factor": 3.0},
    ]


def test_fraud_signals(referrals):
    assert referral_fraud_signals() == [
        {"referrer": "alice", "referred": 3, "buyers": 0, "reasons": ["referred_accounts_never_order", "signup_burst"]},
        {"referrer": "frank", "referred": 1, "buyers": 0, "reasons": ["self_referral"]},
    ]


def test_invite_codes_are_stable_and_distinct():
    assert invite_code_of("alice") == invite_code_of("alice")
    assert invite_code_of("alice") != invite_code_of("bob")
    assert invite_code_of("alice").startswith("INV-")
