"""RFM scores use the whole 1–5 range on tied data (issue 14, item 5): the refresh's SQL held against a brute-force
reference of the documented rule on generated buyers with heavy ties (most buyers one order, shared timestamps and
amounts), and a few distinct values."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from analytics.services.loading import events_load
from tests.factories import event_row, local_time
from users.models import Customer
from users.services.customers import customers_refresh

TODAY = date(2026, 11, 24)
NOW = local_time(TODAY, 23, 0)


def _reference_scores(values: dict[str, float]) -> dict[str, int]:
    """The rule of ``users.services.customers._score``, by hand: quintile of CUME_DIST among buyers; with 5+
    distinct values walked up the distinct values (lowest 1, at most +1 per value) and lifted so that the k-th
    highest distinct value scores at least 6 − k; with fewer, the quintile with the lowest value 1."""
    n = len(values)
    distinct = sorted(set(values.values()))
    score_of = {}
    previous = 0
    for k, value in enumerate(distinct, start=1):
        cume = sum(1 for v in values.values() if v <= value) / n
        quintile = next(q for q, bound in enumerate((0.2, 0.4, 0.6, 0.8, 1.01), start=1) if cume <= bound + 1e-12)
        quintile = 1 if k == 1 else quintile
        if len(distinct) >= 5:
            stepped = min(quintile, previous + 1)
            previous = stepped
            score_of[value] = max(stepped, 5 - (len(distinct) - k))
        else:
            score_of[value] = quintile
    return {customer: score_of[value] for customer, value in values.items()}


def _generate(seed: int, buyers: int, max_orders: int):
    """Buyers with heavy ties: order counts mostly 1, last orders on a few shared instants, amounts from a short
    list; plus visitors who never order."""
    rng = np.random.default_rng(seed)
    instants = [local_time(TODAY - timedelta(days=int(d)), 12) for d in rng.choice(120, 6, replace=False)]
    amounts = [9.9, 20.0, 35.5, 60.0]
    rows, truth = [], {}
    for i in range(buyers):
        cid = f"b{i}"
        orders = int(min(max_orders, rng.geometric(0.55)))
        last = instants[int(rng.integers(0, len(instants)))]
        rows.append(event_row("visit", cid, last - timedelta(days=130), channel="wechat"))
        spend = 0.0
        for k in range(orders):
            amount = amounts[int(rng.integers(0, len(amounts)))] if orders > 1 else 20.0
            at = last - timedelta(days=k)
            rows.append(event_row("order_paid", cid, at, order_id=f"{cid}-{k}", amount=amount, merchant_id="m"))
            spend += amount
        truth[cid] = {"recency": last.timestamp(), "frequency": orders, "monetary": round(spend, 2)}
    for i in range(5):
        rows.append(event_row("visit", f"v{i}", local_time(TODAY - timedelta(days=3), 9), channel="organic"))
    return rows, truth


@pytest.mark.now(NOW)
@pytest.mark.parametrize(("seed", "buyers", "max_orders"), [(1, 60, 12), (2, 45, 8), (3, 30, 3)])
def test_scores_match_the_reference_and_use_the_whole_range(db, seed, buyers, max_orders):
    rows, truth = _generate(seed, buyers, max_orders)
    events_load(rows)

    customers_refresh(now=NOW)

    stored = {c.distinct_id: c for c in Customer.objects.all()}
    frequencies = {facts["frequency"] for facts in truth.values()}
    assert (len(frequencies) >= 5) == (max_orders >= 8)  # both cases are exercised
    for measure in ("recency", "frequency", "monetary"):
        values = {cid: facts[measure] for cid, facts in truth.items()}
        expected = _reference_scores(values)
        got = {cid: getattr(stored[cid], f"{measure}_score") for cid in truth}
        assert got == expected, measure
        # one-order buyers (a third to a half of them here) share the lowest frequency: F = 1, never empty
        if len(set(values.values())) >= 5:
            assert set(got.values()) == {1, 2, 3, 4, 5}, measure
        # a higher value never scores lower
        ordered = sorted(truth, key=lambda cid: values[cid])
        assert [got[cid] for cid in ordered] == sorted(got[cid] for cid in ordered)
    assert all(stored[f"v{i}"].frequency_score == 0 and stored[f"v{i}"].rfm_segment == "" for i in range(5))
    assert all(stored[cid].frequency_score == 1 for cid, facts in truth.items() if facts["frequency"] == 1)
