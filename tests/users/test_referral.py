"""Referral on crafted sign-ups: tree, top referrers, K-factor per month and channel, fraud signals."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time
from users.models import Customer
from users.selectors import (
    invite_code_of,
    referral_fraud_signals,
    referral_k_factor,
    referral_top,
    referral_tree,
    referral_unresolved,
)
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
        {"month": "2026-06", "channel": "douyin", "signups": 1, "referred_signups": 1, "k_factor": 1.0,
         "complete": True},
        {"month": "2026-06", "channel": "referral", "signups": 4, "referred_signups": 1, "k_factor": 0.25,
         "complete": True},
        {"month": "2026-06", "channel": "wechat", "signups": 1, "referred_signups": 3, "k_factor": 3.0,
         "complete": True},
    ]


def test_fraud_signals(referrals):
    assert [(row["referrer"], row["referred"], row["buyers"], row["reasons"]) for row in referral_fraud_signals()] == [
        ("alice", 3, 0, ["signup_burst", "referred_accounts_never_order"]),
        ("frank", 1, 0, ["self_referral"]),
    ]


def test_invite_codes_are_stable_and_distinct():
    assert invite_code_of("alice") == invite_code_of("alice")
    assert invite_code_of("alice") != invite_code_of("bob")
    assert invite_code_of("alice").startswith("INV-")


def test_invite_code_sql_matches_python(db):
    events_load([event_row("visit", name, at(1), channel="wechat") for name in ("alice", "u000123", "张三")])

    customers_refresh()

    assert {c.distinct_id: c.invite_code for c in Customer.objects.all()} == {
        name: invite_code_of(name) for name in ("alice", "u000123", "张三")}


@pytest.fixture
def coded(db):
    """gina (organic) is named by her invite code by hal and ivy, by her id by jon; kim names 'invite' (no one);
    lea names her own code; everyone signed up in November (young: hal/ivy two days ago)."""
    nov = lambda day, hour=10, minute=0: local_time(date(2026, 11, day), hour, minute)  # noqa: E731
    code = invite_code_of("gina")
    events_load([
        event_row("visit", "gina", nov(1), channel="organic"), event_row("signup", "gina", nov(1, 11)),
        event_row("visit", "hal", nov(23), channel="wechat"), event_row("signup", "hal", nov(23, 10, 5), referrer=code),
        event_row("visit", "ivy", nov(23), channel="wechat"), event_row("signup", "ivy", nov(23, 10, 9), referrer=code),
        event_row("visit", "jon", nov(2), channel="referral"), event_row("signup", "jon", nov(2, 11), referrer="gina"),
        event_row("order_paid", "jon", nov(3, 12), order_id="j1", amount=25, merchant_id="m"),
        event_row("visit", "kim", nov(5), channel="douyin"), event_row("signup", "kim", nov(5, 11), referrer="invite"),
        event_row("visit", "lea", nov(6), channel="douyin"),
        event_row("signup", "lea", nov(6, 11), referrer=invite_code_of("lea")),
    ])
    customers_refresh()


def test_invite_codes_resolve_to_their_referrer(coded):
    top = referral_top()

    assert [(row["referrer"], row["referred"], row["buyers"]) for row in top] == [("gina", 3, 1), ("lea", 1, 0)]
    assert referral_unresolved() == {"signups": 1, "values": [{"value": "invite", "signups": 1}]}
    tree = referral_tree(customer=Customer.objects.get(distinct_id="gina"))
    assert [c["distinct_id"] for c in tree[0]["customers"]] == ["jon", "hal", "ivy"]


def test_k_factor_counts_codes_under_the_referrers_channel_and_the_rest_as_unresolved(coded):
    rows = referral_k_factor(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))

    referred = {row["channel"]: row["referred_signups"] for row in rows if row["referred_signups"]}
    assert referred == {"organic": 3, "douyin": 1, "(unresolved)": 1}
    assert "(none)" not in {row["channel"] for row in rows}


def test_young_referred_signups_are_not_yet_never_ordering(coded):
    # hal and ivy signed up two days ago, four minutes apart: too young to judge, too few for a burst
    signals = {row["referrer"]: row["reasons"] for row in referral_fraud_signals()}

    assert signals == {"lea": ["self_referral"]}


@pytest.mark.now(local_time(date(2026, 11, 25), 10))
def test_a_burst_is_any_short_window_not_the_whole_history(db):
    code = invite_code_of("max")
    rows = [event_row("visit", "max", at(1), channel="wechat"), event_row("signup", "max", at(1, 11))]
    # one referral a week for six weeks, then three within 40 minutes in November
    for k in range(6):
        rows += [event_row("visit", f"w{k}", at(2 + 4 * k), channel="referral"),
                 event_row("signup", f"w{k}", at(2 + 4 * k, 11), referrer="max")]
    for k in range(3):
        moment = local_time(date(2026, 11, 10), 20, 20 * k)
        rows += [event_row("visit", f"b{k}", moment, channel="referral"),
                 event_row("signup", f"b{k}", moment, referrer=code)]
    rows.append(event_row("order_paid", "w0", at(3), order_id="w0", amount=10, merchant_id="m"))
    rows.append(event_row("order_paid", "w1", at(7), order_id="w1", amount=10, merchant_id="m"))
    events_load(rows)
    customers_refresh()

    (signal,) = referral_fraud_signals()

    assert (signal["referrer"], signal["referred"], signal["largest_burst"], signal["reasons"]) == (
        "max", 9, 3, ["signup_burst"])


def test_pages_link_resolved_referrers_only(coded, client_for, api_client_for):
    client = client_for(Role.USER_OPS)

    page = client.get("/users/referral/").content.decode()
    assert 'href="/users/customers/gina/"' in page
    assert "/users/customers/invite/" not in page
    assert "1 referred sign-up names no customer (unresolved)" in page

    hal = client.get("/users/customers/hal/").content.decode()
    assert 'href="/users/customers/gina/"' in hal and invite_code_of("gina") in hal
    kim = client.get("/users/customers/kim/").content.decode()
    assert "/users/customers/invite/" not in kim and "names no customer" in kim

    body = api_client_for(Role.ANALYST).get("/api/v1/users/referral/referrers/").json()
    assert body["unresolved"] == {"signups": 1, "values": [{"value": "invite", "signups": 1}]}
    assert [row["referrer"] for row in body["top"]] == ["gina", "lea"]


# The month in progress (issue: December, 3 days old, read "0.5652" beside November's 0.2234 with no "so far")


@pytest.fixture
def across_months(db):
    """mia (wechat) brings nat on 2026-11-30 and ola on 2026-12-01; pia signs up on her own in November."""
    events_load([
        event_row("visit", "mia", local_time(date(2026, 11, 2), 10), channel="wechat"),
        event_row("signup", "mia", local_time(date(2026, 11, 2), 11)),
        event_row("visit", "pia", local_time(date(2026, 11, 3), 10), channel="wechat"),
        event_row("signup", "pia", local_time(date(2026, 11, 3), 11)),
        event_row("visit", "nat", local_time(date(2026, 11, 30), 10), channel="referral"),
        event_row("signup", "nat", local_time(date(2026, 11, 30), 23, 59), referrer="mia"),
        event_row("visit", "ola", local_time(date(2026, 12, 1), 0, 0), channel="referral"),
        event_row("signup", "ola", local_time(date(2026, 12, 1), 0, 1), referrer="mia"),
    ])
    customers_refresh()


@pytest.mark.parametrize(("today", "complete"), [
    (date(2026, 11, 30), {"2026-11": False, "2026-12": False}),  # November's last day: still in progress
    (date(2026, 12, 1), {"2026-11": True, "2026-12": False}),  # the day after: complete
    (date(2026, 12, 31), {"2026-11": True, "2026-12": False}),
    (date(2027, 1, 1), {"2026-11": True, "2026-12": True}),
])
def test_a_month_is_complete_only_once_its_last_day_is_over(across_months, today, complete):
    rows = referral_k_factor(date_from=date(2026, 11, 1), date_to=date(2026, 12, 31), today=today)

    assert {row["month"]: row["complete"] for row in rows} == complete
    assert {(row["month"], row["channel"]): row["k_factor"] for row in rows} == {
        ("2026-11", "referral"): 0.0, ("2026-11", "wechat"): 0.5, ("2026-12", "referral"): 0.0,
        ("2026-12", "wechat"): None}


def test_the_page_and_the_api_mark_the_month_in_progress(across_months, today_is, client_for, api_client_for):
    today_is(date(2026, 12, 3))
    params = "?date_from=2026-11-01&date_to=2026-12-03"

    page = client_for(Role.USER_OPS).get(f"/users/referral/{params}")
    body = api_client_for(Role.ANALYST).get(f"/api/v1/users/referral/k-factor/{params}").json()

    html = page.content.decode()
    assert html.count('data-testid="month-so-far"') == 2  # December's two rows, not November's
    assert 'data-testid="k-month-in-progress">2026-12 is in progress' in html
    assert {(row["month"], row["partial"]) for row in page.context["k_factor"]} == {
        ("2026-11", None), ("2026-12", "so far")}
    assert {(row["month"], row["complete"]) for row in body} == {("2026-11", True), ("2026-12", False)}
