"""Channel quality judges revenue on mature customers only: held against a brute-force reference on generated data
with cohorts younger than their window (issue 14, item 4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from analytics.services.loading import events_load
from tests.factories import event_row, local_time
from users.selectors import MATURE_SHARE, REPEAT_DAYS, REVENUE_DAYS, channel_quality, channel_spend_in
from users.services.channels import channel_spend_save
from users.services.customers import customers_refresh

NOW = local_time(date(2026, 11, 25), 10)
CHANNELS = ["wechat", "douyin", "organic"]


def _generate(seed: int = 7, customers: int = 80):
    """Customers first seen 1…130 days before NOW, each with a first visit, maybe a sign-up and orders."""
    rng = np.random.default_rng(seed)
    people, rows = [], []
    for i in range(customers):
        first = NOW - timedelta(days=int(rng.integers(1, 131)), hours=int(rng.integers(0, 20)),
                                minutes=int(rng.integers(0, 60)))
        channel = CHANNELS[int(rng.integers(0, len(CHANNELS)))]
        signed = bool(rng.random() < 0.7)
        person = {"id": f"c{i}", "first": first, "channel": channel, "signed": signed, "orders": []}
        rows.append(event_row("visit", person["id"], first, channel=channel))
        if signed:
            rows.append(event_row("signup", person["id"], first + timedelta(minutes=5)))
            for k in range(int(rng.integers(0, 5))):
                at = first + timedelta(hours=float(rng.uniform(0.2, 24 * 120)))
                if at < NOW - timedelta(minutes=1):
                    amount = float(np.round(rng.uniform(5, 80), 2))
                    person["orders"].append((at, amount))
                    rows.append(event_row("order_paid", person["id"], at, order_id=f"{i}-{k}", amount=amount,
                                          merchant_id="m"))
        people.append(person)
    return people, rows


def _reference(people, *, date_from: date, date_to: date, now: datetime, spend: dict[str, float]) -> dict:
    zone = timezone.get_current_timezone()
    inside = [p for p in people if date_from <= timezone.localtime(p["first"], zone).date() <= date_to]
    signed_total = sum(p["signed"] for p in inside)
    per_channel = {}
    for channel in {p["channel"] for p in inside}:
        members = [p for p in inside if p["channel"] == channel]
        signups = sum(p["signed"] for p in members)
        row = {"signups": signups}
        for days in REVENUE_DAYS:
            mature = [p for p in members if p["first"] <= now - timedelta(days=days)]
            n = sum(p["signed"] for p in mature)
            revenue = sum(amount for p in mature for at, amount in p["orders"]
                          if at - p["first"] < timedelta(days=days))
            row[f"customers_{days}d"] = n
            row[f"revenue_{days}d_per_customer"] = round(revenue / n, 4) if n else None
        had = [p for p in members if p["first"] <= now - timedelta(days=REPEAT_DAYS)]  # had their 14 days
        early = [sum(timedelta(0) <= at - p["first"] < timedelta(days=REPEAT_DAYS) for at, _ in p["orders"])
                 for p in had]
        buyers, repeaters = sum(n >= 1 for n in early), sum(n >= 2 for n in early)
        row[f"buyers_{REPEAT_DAYS}d"] = buyers
        row[f"repeat_rate_{REPEAT_DAYS}d"] = round(repeaters / buyers, 4) if buyers else None
        cost = spend.get(channel, 0.0)
        row["cac"] = round(cost / signups, 2) if cost and signups else None
        per_channel[channel] = row
    window = None
    for days in sorted(REVENUE_DAYS, reverse=True):
        mature = sum(row[f"customers_{days}d"] for row in per_channel.values())
        if signed_total and mature >= MATURE_SHARE * signed_total:
            window = days
            break
    for row in per_channel.values():
        value = row[f"revenue_{window}d_per_customer"] if window else None
        row["roi"] = round((value - row["cac"]) / row["cac"], 4) if row["cac"] and value is not None else None
    return {"window": window, "channels": per_channel}


@pytest.fixture
def generated(db):
    people, rows = _generate()
    events_load(rows)
    customers_refresh()
    channel_spend_save(channel="wechat", period_start=date(2026, 7, 1), period_end=date(2026, 11, 30),
                       amount=Decimal("1530"))
    channel_spend_save(channel="douyin", period_start=date(2026, 7, 1), period_end=date(2026, 11, 30),
                       amount=Decimal("918"))
    return people


@pytest.mark.now(NOW)
@pytest.mark.parametrize(("span", "window"), [
    ((date(2026, 7, 15), date(2026, 11, 25)), 60),  # every age: some mature for 90 days, some a day old
    ((date(2026, 8, 1), date(2026, 8, 31)), 90),  # mostly mature for 90 days
    ((date(2026, 10, 1), date(2026, 10, 31)), 30),  # 30 days at most, partly
    ((date(2026, 11, 5), date(2026, 11, 25)), None),  # younger than every window
])
def test_revenue_counts_only_customers_who_have_had_the_window(generated, span, window):
    date_from, date_to = span
    report = channel_quality(date_from=date_from, date_to=date_to)
    spend = {channel: float(amount) for channel, amount in
             channel_spend_in(date_from=date_from, date_to=date_to).items()}
    expected = _reference(generated, date_from=date_from, date_to=date_to, now=timezone.now(), spend=spend)

    assert report["roi_window"] == expected["window"] == window
    assert report["ranked_by"] == ("roi" if expected["window"] else "activation_rate")
    rows = {row["channel"]: row for row in report["channels"] if row["visitors"]}
    assert set(rows) == set(expected["channels"])
    for channel, want in expected["channels"].items():
        got = rows[channel]
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=1e-4), (channel, key)
            else:
                assert got[key] == value, (channel, key)
        # the curve follows the customers who have had the channel's longest window, and ends on its figure
        longest = max([d for d in REVENUE_DAYS if want[f"customers_{d}d"]], default=0)
        assert len(got["curve"]) == longest
        if longest:
            assert got["curve"][-1] == pytest.approx(want[f"revenue_{longest}d_per_customer"], abs=1e-4)
            assert got["curve"] == sorted(got["curve"])
    # ranked by ROI on the window (None last), else by activation rate
    ordered = [row["channel"] for row in sorted(rows.values(), key=lambda r: r["rank"])]
    if expected["window"]:
        rois = [rows[c]["roi"] for c in ordered]
        known = [r for r in rois if r is not None]
        assert known == sorted(known, reverse=True)
        assert rois[:len(known)] == known
    else:
        rates = [rows[c]["activation_rate"] for c in ordered]
        assert rates == sorted(rates, reverse=True)
        assert all(rows[c][f"revenue_{d}d_per_customer"] is None for c in rows for d in REVENUE_DAYS)


@pytest.mark.now(NOW)
def test_a_cohort_a_day_old_has_no_revenue_figures_and_no_roi(db):
    events_load([event_row("visit", "a", NOW - timedelta(days=1), channel="wechat"),
                 event_row("signup", "a", NOW - timedelta(days=1, minutes=-5)),
                 event_row("order_paid", "a", NOW - timedelta(hours=2), order_id="1", amount=99, merchant_id="m")])
    customers_refresh()
    channel_spend_save(channel="wechat", period_start=date(2026, 11, 24), period_end=date(2026, 11, 24),
                       amount=Decimal("10"))

    report = channel_quality(date_from=date(2026, 11, 24), date_to=date(2026, 11, 25))

    (row,) = report["channels"]
    assert report["roi_window"] is None
    assert (row["revenue_30d_per_customer"], row["customers_30d"], row["roi"], row["payback_days"], row["curve"]) == (
        None, 0, None, None, [])


@pytest.mark.now(NOW)
def test_ordering_again_counts_the_first_14_days_of_customers_who_have_had_them(db):
    """Edges: first seen exactly 14 days before now (had them) or a minute later (not yet); a second order a minute
    before the 14th day ends (counts) or exactly at it (does not)."""
    first = NOW - timedelta(days=14)
    rows = []
    for person, seen, second in [("edge", first, timedelta(days=14) - timedelta(minutes=1)),
                                 ("late", first, timedelta(days=14)),
                                 ("young", first + timedelta(minutes=1), timedelta(hours=1))]:
        rows += [event_row("visit", person, seen, channel="wechat"), event_row("signup", person, seen),
                 event_row("order_paid", person, seen + timedelta(minutes=2), order_id=f"{person}1", amount=5,
                           merchant_id="m"),
                 event_row("order_paid", person, seen + second, order_id=f"{person}2", amount=5, merchant_id="m")]
    events_load(rows)
    customers_refresh()

    (row,) = channel_quality(date_from=date(2026, 11, 1), date_to=date(2026, 11, 25))["channels"]

    assert (row["buyers"], row["repeat_rate"]) == (3, 1.0)  # to date: everyone ordered twice
    assert (row["buyers_14d"], row["repeat_rate_14d"]) == (2, 0.5)  # "young" has not had 14 days; "late" was late
