"""Merchant health, tiers and the at-risk alert are judged on complete weeks only, with hysteresis.

Generated data (several merchants, weeks of random orders and reviews, the current week partial) against a
brute-force reference written here in plain Python: the week's figures, the health score, the banded indication and
the two-week confirmation. Now is pinned explicitly in every test."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest

from analytics.services.loading import events_load
from desk.models import Alert
from desk.services.alerts import alerts_compute
from merchants.models import Merchant, MerchantMetrics, MerchantTierChange, Tier, TierRules
from merchants.services.metrics import merchant_metrics_compute, merchant_metrics_nightly_run, tiers_for
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time

pytestmark = pytest.mark.django_db
MONDAY = date(2026, 11, 2)
RANK = {"at_risk": 0, "ordinary": 1, "potential": 2, "core": 3}
TIERS = {rank: tier for tier, rank in RANK.items()}


def _generate(rng: random.Random, codes: list[str], first: date, last: date) -> list:
    """Orders (some customers twice) and reviews per merchant and day; each merchant has its own level and a few
    weeks of nothing, so tiers have reasons to move and to flap."""
    events, n = [], 0
    levels = {code: rng.choice([0, 1, 3, 6]) for code in codes}
    day = first
    while day <= last:
        for code in codes:
            if rng.random() < 0.15:  # a dead day for this merchant
                continue
            for _ in range(rng.randint(0, levels[code])):
                n += 1
                customer = f"{code}-c{rng.randint(0, 8)}"
                events.append(event_row("order_paid", customer, local_time(day, rng.randint(0, 23)),
                                        order_id=f"o{n}", amount=rng.choice([10, 25.5]), merchant_id=code))
                if rng.random() < 0.3:
                    events.append(event_row("review", customer, local_time(day, 23, 30), order_id=f"o{n}",
                                            merchant_id=code, rating=rng.randint(1, 5)))
        day += timedelta(days=1)
    return events


def _reference_week(events: list, code: str, start: date, days: int) -> dict:
    """Brute force: one merchant's figures over the first ``days`` days of the week starting ``start``."""
    def within(event, begin, count):
        return local_time(begin, 0) <= event.timestamp < local_time(begin + timedelta(days=count), 0)

    orders = [e for e in events if e.event == "order_paid" and e.properties["merchant_id"] == code
              and within(e, start, days)]
    before = [e for e in events if e.event == "order_paid" and e.properties["merchant_id"] == code
              and within(e, start - timedelta(days=7), days)]
    reviews = [e for e in events if e.event == "review" and e.properties["merchant_id"] == code
               and within(e, start, days)]
    per_customer: dict[str, int] = {}
    for order in orders:
        per_customer[order.distinct_id] = per_customer.get(order.distinct_id, 0) + 1
    customers = len(per_customer)
    return {"orders": len(orders), "customers": customers,
            "repeat_rate": sum(1 for v in per_customer.values() if v > 1) / customers if customers else 0,
            "reviews": len(reviews),
            "avg_rating": sum(r.properties["rating"] for r in reviews) / len(reviews) if reviews else None,
            "low_share": sum(r.properties["rating"] <= 2 for r in reviews) / len(reviews) if reviews else 0,
            "wow": len(orders) / len(before) - 1 if before else None, "days": days}


def _reference_health(week: dict, rules: TierRules) -> int:
    weekly = week["orders"] * 7 / week["days"]
    volume = min(weekly / rules.core_min_orders, 1) * 30
    rating = 12.5 if week["avg_rating"] is None else min(max((week["avg_rating"] - 1) / 4, 0), 1) * 25
    low = (1 - week["low_share"]) * 10
    repeat = min(week["repeat_rate"] / 0.3, 1) * 20
    trend = 7.5 if week["wow"] is None else (min(max(week["wow"], -0.5), 0.5) + 0.5) * 15
    return min(max(round(volume + rating + low + repeat + trend), 0), 100)


def _reference_indication(score: int, orders: float, current: str, rules: TierRules) -> str:
    """The banded rule, one merchant at a time."""
    rank = RANK.get(current, -1)

    def sign(level):
        return 0 if rank < 0 else (-1 if rank >= level else 1)

    b, share = rules.buffer_points, rules.buffer_orders / 100
    if score >= rules.core_min_score + sign(3) * b and orders >= rules.core_min_orders * (1 + sign(3) * share):
        return "core"
    if (score >= rules.potential_min_score + sign(2) * b
            and orders >= rules.potential_min_orders * (1 + sign(2) * share)):
        return "potential"
    if score < rules.at_risk_max_score + sign(1) * b:
        return "at_risk"
    return "ordinary"


def _reference_tiers(weeks: list[dict], rules: TierRules) -> list[tuple[str, str]]:
    """Per complete week: (indicated, in force after it), the merchant starting without a tier."""
    current, out, indications = "", [], []
    for week in weeks:
        indicated = _reference_indication(week["score"], week["orders"], current, rules)
        indications.append(indicated)
        if not current:
            current = indicated
        else:
            last = indications[-rules.confirm_weeks:]
            if len(last) == rules.confirm_weeks and all(RANK[t] > RANK[current] for t in last):
                current = TIERS[min(RANK[t] for t in last)]
            elif len(last) == rules.confirm_weeks and all(RANK[t] < RANK[current] for t in last):
                current = TIERS[max(RANK[t] for t in last)]
        out.append((indicated, current))
    return out


@pytest.mark.now(date(2026, 12, 2))  # a Wednesday: the week of 2026-11-30 has two days so far
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_weeks_against_a_brute_force_reference(seed):
    rng = random.Random(seed)
    rules = TierRules.objects.create(version=1, core_min_orders=12, potential_min_orders=4)
    codes = [f"G{seed}{n:02d}" for n in range(8)]
    for code in codes:
        MerchantFactory(code=code, stage=Merchant.Stage.LIVE)
    first, today = MONDAY - timedelta(days=7), date(2026, 12, 2)
    events = _generate(rng, codes, first, today)  # today's events too: not counted yet
    events_load(events)
    weeks = [MONDAY + timedelta(days=7 * k) for k in range(4)]  # 11-02 … 11-23 complete
    for week in weeks:
        merchant_metrics_compute(period_start=week)
    so_far = merchant_metrics_nightly_run()  # the last complete week was judged: only the week so far
    assert [(run.period_start, run.days, run.tier_changes) for run in so_far] == [(date(2026, 11, 30), 2, 0)]

    for code in codes:
        merchant = Merchant.objects.get(code=code)
        rows = {row.period_start: row for row in MerchantMetrics.objects.filter(merchant=merchant)}
        reference = []
        for week in weeks:
            expected = _reference_week(events, code, week, 7)
            row = rows[week]
            assert (row.orders, row.customers, row.review_count) == (
                expected["orders"], expected["customers"], expected["reviews"]), (code, week)
            assert row.repeat_rate == pytest.approx(expected["repeat_rate"])
            assert row.orders_wow == (None if expected["wow"] is None else pytest.approx(expected["wow"]))
            assert row.health_score == _reference_health(expected, rules), (code, week)
            reference.append({"score": row.health_score, "orders": row.orders})
        tiers = _reference_tiers(reference, rules)
        assert [(rows[w].indicated_tier, rows[w].tier) for w in weeks] == tiers, code
        partial = rows[date(2026, 11, 30)]
        expected = _reference_week(events, code, date(2026, 11, 30), 2)
        assert (partial.days, partial.orders, partial.indicated_tier) == (2, expected["orders"], "")
        assert partial.health_score == _reference_health(expected, rules)  # pro-rated, shown as "so far"
        assert partial.tier == merchant.tier == tiers[-1][1]  # the week so far keeps the tier in force
        assert merchant.health_score == rows[weeks[-1]].health_score  # judged on the last complete week
        moves = list(MerchantTierChange.objects.filter(merchant=merchant).order_by("period_start")
                     .values_list("period_start", "from_tier", "to_tier"))
        in_force = [("", *tiers[0][1:])] + [(t[1],) for t in tiers]
        expected_moves = [(weeks[0], "", tiers[0][1])] + [
            (weeks[k], tiers[k - 1][1], tiers[k][1]) for k in range(1, len(weeks)) if tiers[k][1] != tiers[k - 1][1]]
        assert moves == expected_moves, (code, in_force)
    assert not MerchantTierChange.objects.filter(period_start=date(2026, 11, 30)).exists()


def _week_of_orders(code: str, week: date, count: int, customers: int | None = None) -> list:
    return [event_row("order_paid", f"{code}-{week}-{i % (customers or count)}",
                      local_time(week + timedelta(days=i % 7), 12), order_id=f"{code}-{week}-{i}", amount=20,
                      merchant_id=code) for i in range(count)]


@pytest.mark.now(date(2026, 12, 21))
def test_hysteresis_keeps_a_merchant_hovering_at_a_threshold_in_its_tier():
    rules = TierRules.objects.create(version=1)
    MerchantFactory(code="HOVER")
    weeks = [MONDAY + timedelta(days=7 * k) for k in range(6)]
    events_load([row for k, week in enumerate(weeks) for row in _week_of_orders("HOVER", week, 24 if k % 2 else 17)])

    for week in weeks:
        merchant_metrics_compute(period_start=week, rules=rules)

    tiers = list(MerchantMetrics.objects.order_by("period_start").values_list("tier", flat=True))
    assert len(set(tiers)) == 1  # one tier throughout: the first week's
    assert MerchantTierChange.objects.count() == 1

    # Without hysteresis (no band, one week decides) the same weeks flap
    plain = TierRules.objects.create(version=2, buffer_points=0, buffer_orders=0, confirm_weeks=1)
    MerchantTierChange.objects.all().delete()
    MerchantMetrics.objects.all().delete()
    Merchant.objects.update(tier="", tier_since=None)
    for week in weeks:
        merchant_metrics_compute(period_start=week, rules=plain)
    assert MerchantTierChange.objects.exclude(from_tier="").count() >= 4


def test_the_band_is_around_each_threshold_and_a_first_tier_has_none():
    rules = TierRules(version=1, buffer_points=8)  # core 75 / 20 orders, potential 55 / 5, at risk < 35; band 8, 20 %
    frame = pd.DataFrame({"health_score": [80, 80, 68, 66, 60, 62, 30, 26, 42, 44],
                          "weekly_orders": [30, 30, 30, 30, 10, 10, 10, 10, 10, 10]})
    current = pd.Series(["", "potential", "core", "core", "ordinary", "potential", "ordinary", "ordinary",
                         "at_risk", "at_risk"])

    assert list(tiers_for(frame, rules=rules, current=current)) == [
        "core", "potential", "core", "potential", "ordinary", "potential", "ordinary", "at_risk", "at_risk",
        "ordinary"]
    assert list(tiers_for(frame, rules=rules)) == [  # no tier in force: the plain thresholds
        "core", "core", "potential", "potential", "potential", "potential", "at_risk", "at_risk", "ordinary",
        "ordinary"]


def _fell_to_at_risk_setup(make_staff):
    """Merchants in tiers, two of them two complete weeks bad (they fall in the week of 11-23); every merchant has
    no order at all in the week so far, which a partial week would once have read as a collapse."""
    owner = make_staff(Role.MERCHANT_OPS)
    rules = TierRules.objects.create(version=1, at_risk_max_score=41)
    good = [MerchantFactory(code=f"OK{n}", owner=owner) for n in range(4)]
    bad = [MerchantFactory(code=f"BAD{n}", owner=owner) for n in range(2)]
    rows = []
    for week in (MONDAY, MONDAY + timedelta(days=7)):  # core: 24 orders from 8 customers (health 80)
        rows += [row for m in good + bad for row in _week_of_orders(m.code, week, 24, customers=8)]
    for week in (MONDAY + timedelta(days=14), MONDAY + timedelta(days=21)):  # nothing for BAD*: health 22, then 30
        rows += [row for m in good for row in _week_of_orders(m.code, week, 24, customers=8)]
    events_load(rows)
    for k in range(4):
        merchant_metrics_compute(period_start=MONDAY + timedelta(days=7 * k), rules=rules)
    return owner, bad


def test_the_at_risk_alert_names_the_same_merchants_on_every_day_of_the_week(make_staff, today_is):
    today_is(date(2026, 11, 30))  # Monday: the week of 11-23 has ended
    owner, bad = _fell_to_at_risk_setup(make_staff)
    assert sorted(Merchant.objects.filter(tier=Tier.AT_RISK).values_list("code", flat=True)) == ["BAD0", "BAD1"]
    named = {}
    for offset in range(7):  # Monday 11-30 … Sunday 12-06, each night's run then the desk's alerts
        day = today_is(date(2026, 11, 30) + timedelta(days=offset))
        merchant_metrics_nightly_run()
        alerts_compute(day=day)
        alerts = Alert.objects.filter(kind=Alert.Kind.MERCHANT_AT_RISK)
        named[day] = sorted((a.day, m["code"]) for a in alerts for m in a.params["merchants"])
    assert set(map(tuple, named.values())) == {tuple(named[date(2026, 11, 30)])}
    assert named[date(2026, 11, 30)] == [(date(2026, 11, 23), "BAD0"), (date(2026, 11, 23), "BAD1")]
    assert not MerchantTierChange.objects.filter(period_start=date(2026, 11, 30)).exists()
    assert MerchantMetrics.objects.filter(period_start=date(2026, 11, 30), days=6).count() == 6


@pytest.mark.now(date(2026, 11, 25))  # Wednesday: the week of 11-23 has two days so far
def test_the_health_api_marks_the_week_so_far_and_tier_reasons_read_in_the_readers_language(api_client_for):
    merchant = MerchantFactory(code="API1")
    events_load([*_week_of_orders("API1", date(2026, 11, 16), 24, customers=8),
                 *_week_of_orders("API1", date(2026, 11, 23), 2)])
    merchant_metrics_compute(period_start=date(2026, 11, 16))
    merchant_metrics_nightly_run()
    client = api_client_for(Role.ANALYST)

    body = client.get(f"/api/v1/merchants/{merchant.pk}/health/").json()

    assert [(m["period_start"], m["days"], m["complete"], m["tier"], m["indicated_tier"]) for m in body["metrics"]] == [
        ("2026-11-16", 7, True, "core", "core"), ("2026-11-23", 2, False, "core", "")]
    # the week before had 8 orders on its Monday and Tuesday: the same days, not the whole week's 24
    assert body["week_so_far"] == {"week": "2026-11-23", "days": 2, "orders": 2, "pace": 7, "same_days_before": 8,
                                   "orders_wow": -0.75, "health_score": 33}
    assert [p["code"] for p in body["problems"]].count("orders_down") == 0  # two days are not a week
    english = client.get("/api/v1/merchants/tiers/changes/").json()
    chinese = client.get("/api/v1/merchants/tiers/changes/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    rows = english["results"] if isinstance(english, dict) else english
    rows_zh = chinese["results"] if isinstance(chinese, dict) else chinese
    assert rows[0]["reason_code"] == "first" and rows[0]["reason"].startswith("first tier: health 80")
    assert rows_zh[0]["reason"].startswith("首次定级")
