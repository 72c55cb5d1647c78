"""Referral reports on generated sign-ups held against a brute-force reference: referrers named by distinct_id or
by invite code, unresolvable names, self-referrals, bursts, young sign-ups (issue 14, item 6)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import numpy as np
import pytest
from django.utils import timezone

from analytics.services.loading import events_load
from tests.factories import event_row, local_time
from users.selectors import (
    BURST_SIGNUPS,
    BURST_WINDOW,
    MIN_REFERRED,
    NEVER_ORDER_AFTER,
    NEVER_ORDER_SHARE,
    UNRESOLVED,
    invite_code_of,
    referral_fraud_signals,
    referral_k_factor,
    referral_top,
    referral_unresolved,
)
from users.services.customers import customers_refresh

NOW = local_time(date(2026, 11, 25), 10)
CHANNELS = ["wechat", "douyin", "referral", ""]


def _generate(seed: int = 11, people: int = 70):
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for i in range(people):
        cid = f"p{i:03d}"
        seen = NOW - timedelta(days=int(rng.integers(1, 80)), minutes=int(rng.integers(0, 600)))
        channel = CHANNELS[int(rng.integers(0, len(CHANNELS)))]
        rows.append(event_row("visit", cid, seen, **({"channel": channel} if channel else {})))
        referrer = ""
        earlier = [p for p in truth if p["seen"] < seen]
        kind = rng.random()
        if earlier and kind < 0.55:
            # a popular few: the first three people are named most often, by id or by code
            target = earlier[min(int(rng.geometric(0.5)) - 1, len(earlier) - 1)]["id"]
            referrer = target if rng.random() < 0.5 else invite_code_of(target)
        elif kind < 0.62:
            referrer = "invite"
        elif kind < 0.66:
            referrer = invite_code_of(cid)  # self-referral
        signup = seen + timedelta(minutes=5)
        rows.append(event_row("signup", cid, signup, **({"referrer": referrer} if referrer else {})))
        orders = int(rng.integers(0, 3)) if rng.random() < 0.4 else 0
        for k in range(orders):
            rows.append(event_row("order_paid", cid, signup + timedelta(hours=1 + k), order_id=f"{cid}-{k}",
                                  amount=10, merchant_id="m"))
        truth.append({"id": cid, "seen": seen, "signup": signup, "channel": channel, "referrer": referrer,
                      "orders": orders})
    return rows, truth


def _resolve(truth, name, signup):
    ids = {p["id"]: p for p in truth}
    if name in ids:
        return ids[name]
    holders = sorted((p for p in truth if invite_code_of(p["id"]) == name and p["seen"] <= signup),
                     key=lambda p: p["seen"])
    return holders[0] if holders else None


@pytest.mark.now(NOW)
def test_referral_reports_match_the_reference(db):
    rows, truth = _generate()
    events_load(rows)
    customers_refresh()
    now = timezone.now()

    referred = [(p, _resolve(truth, p["referrer"], p["signup"])) for p in truth if p["referrer"]]
    by_referrer = defaultdict(list)
    for p, who in referred:
        if who is not None:
            by_referrer[who["id"]].append(p)
    unresolved = Counter(p["referrer"] for p, who in referred if who is None)

    expected_top = sorted(((r, len(ps), sum(p["orders"] > 0 for p in ps)) for r, ps in by_referrer.items()),
                          key=lambda t: (-t[1], t[0]))[:20]
    assert [(row["referrer"], row["referred"], row["buyers"]) for row in referral_top()] == expected_top
    report = referral_unresolved()
    assert report["signups"] == sum(unresolved.values()) > 0
    assert {v["value"]: v["signups"] for v in report["values"]} == dict(unresolved)

    expected_signals = {}
    for r, ps in by_referrer.items():
        times = sorted(p["signup"] for p in ps)
        burst = max(sum(1 for t in times if u - BURST_WINDOW < t <= u) for u in times)
        old = [p for p in ps if p["signup"] <= now - NEVER_ORDER_AFTER]
        reasons = [reason for reason, hit in (
            ("self_referral", any(p["id"] == r for p in ps)),
            ("signup_burst", burst >= BURST_SIGNUPS),
            ("referred_accounts_never_order", len(old) >= MIN_REFERRED
             and sum(p["orders"] > 0 for p in old) < NEVER_ORDER_SHARE * len(old))) if hit]
        if reasons:
            expected_signals[r] = (len(ps), burst, reasons)
    got = {row["referrer"]: (row["referred"], row["largest_burst"], row["reasons"])
           for row in referral_fraud_signals()}
    assert got == expected_signals
    assert any("self_referral" in reasons for _n, _b, reasons in got.values())

    k_rows = referral_k_factor(date_from=date(2026, 8, 1), date_to=date(2026, 11, 30))
    zone = timezone.get_current_timezone()
    expected_referred = Counter()
    for p, who in referred:
        month = timezone.localtime(p["signup"], zone).strftime("%Y-%m")
        channel = UNRESOLVED if who is None else (who["channel"] or "(none)")
        expected_referred[(month, channel)] += 1
    assert {(row["month"], row["channel"]): row["referred_signups"] for row in k_rows
            if row["referred_signups"]} == dict(expected_referred)
    # pinned on 2026-11-25: November is in progress, the months before it complete
    assert {row["month"]: row["complete"] for row in k_rows} == {
        month: month < "2026-11" for month in {row["month"] for row in k_rows}}
