"""Coupon campaigns: codes, issuance with a holdout, limits by customer, the budget (also under concurrent issuing
on PostgreSQL), redemptions from order_paid.coupon_code, suspicious flags and results."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from analytics.services.loading import events_load
from ops_platform.core.exceptions import ApplicationError
from tests.conftest import missing_service
from tests.factories import event_row
from users.models import Coupon, CouponCampaign, CouponHoldout, CouponRedemption, Customer
from users.services.coupons import (
    coupon_campaign_create,
    coupon_campaign_results,
    coupon_codes_generate,
    coupon_holdout_lift,
    coupon_issue_preview,
    coupon_issue_to_customer,
    coupon_issue_to_segment,
    coupon_redemptions_refresh,
)
from users.services.customers import customers_refresh
from users.services.segments import segment_save

EVERYONE = {"op": "and", "conditions": []}


def campaign_for(segment=None, **fields) -> CouponCampaign:
    now = timezone.now()
    values = {"name": "New users 10", "kind": "new_user", "face_value": Decimal("10"), "budget": Decimal("1000"),
              "valid_from": now - timedelta(days=10), "valid_to": now + timedelta(days=10), "segment": segment,
              "holdout_share": Decimal("0")}
    values.update(fields)
    return coupon_campaign_create(**values)


@pytest.fixture
def crowd(db):
    """20 visitors c0…c19, built into customers and a segment of all of them."""
    now = timezone.now()
    events_load([event_row("visit", f"c{n}", now - timedelta(days=20), channel="wechat") for n in range(20)])
    customers_refresh()
    return segment_save(name="Everyone", rules=EVERYONE)


def test_codes_are_unique_and_bulk(crowd):
    campaign = campaign_for()

    created = coupon_codes_generate(campaign_id=campaign.pk, count=500)

    codes = list(Coupon.objects.values_list("code", flat=True))
    assert created == 500
    assert len(set(codes)) == 500
    assert all(code.startswith(f"C{campaign.pk}-") and len(code) == len(f"C{campaign.pk}-") + 10 for code in codes)


def test_issue_to_segment_keeps_a_holdout_and_is_repeatable(crowd):
    campaign = campaign_for(crowd, holdout_share=Decimal("0.3"))

    first = coupon_issue_to_segment(campaign_id=campaign.pk)
    again = coupon_issue_to_segment(campaign_id=campaign.pk)

    holdout = set(CouponHoldout.objects.values_list("customer_id", flat=True))
    issued = set(Coupon.objects.filter(customer__isnull=False).values_list("customer_id", flat=True))
    assert first.issued + first.holdout == 20
    assert 0 < first.holdout < 20
    assert holdout.isdisjoint(issued)
    assert (again.issued, again.holdout, again.skipped_at_limit) == (0, 0, first.issued)


def test_a_budget_short_of_the_treatment_group_asks_first_and_writes_nothing(crowd):
    campaign = campaign_for(crowd, budget=Decimal("75"), holdout_share=Decimal("0.2"))

    preview = coupon_issue_preview(campaign_id=campaign.pk)
    with pytest.raises(ApplicationError) as refused:
        coupon_issue_to_segment(campaign_id=campaign.pk)

    holdout = preview["holdout"]
    assert preview == {"members": 20, "holdout": holdout, "treatment": 20 - holdout, "at_limit": 0,
                       "affordable": 7, "covered": 7, "not_covered": 13 - holdout, "code_value": 10.0,
                       "budget_left": 75.0, "needs_confirmation": True}
    assert (refused.value.status_code, refused.value.code) == (409, "budget_short")
    assert set(refused.value.errors) == {"allow_partial"}
    campaign.refresh_from_db()
    assert (campaign.committed, Coupon.objects.filter(customer__isnull=False).count(),
            CouponHoldout.objects.count()) == (Decimal("0"), 0, 0)


def test_confirmed_partial_issue_gives_codes_to_a_random_sample_and_keeps_the_planned_holdout(crowd):
    campaign = campaign_for(crowd, budget=Decimal("75"), holdout_share=Decimal("0.2"))
    preview = coupon_issue_preview(campaign_id=campaign.pk)

    result = coupon_issue_to_segment(campaign_id=campaign.pk, allow_partial=True)

    campaign.refresh_from_db()
    issued = set(Coupon.objects.filter(customer__isnull=False).values_list("customer__distinct_id", flat=True))
    assert (result.issued, result.stopped_by_budget, result.not_covered) == (7, True, preview["not_covered"])
    assert result.holdout == preview["holdout"] == CouponHoldout.objects.count()
    assert result.message == (f"Budget reached: 7 codes issued to a random sample of the treatment group; "
                              f"{preview['not_covered']} customers got no code and are in neither group.")
    assert campaign.committed == Decimal("70")
    held_out = set(CouponHoldout.objects.values_list("customer__distinct_id", flat=True))
    assert not issued & held_out
    first_by_id = sorted(Customer.objects.exclude(distinct_id__in=held_out).values_list("person_id", flat=True))[:7]
    assert set(Coupon.objects.filter(customer__isnull=False).values_list("customer_id", flat=True)) != set(
        first_by_id)  # a random sample, not the lowest ids


def test_a_budget_that_covers_the_treatment_group_issues_without_asking(crowd):
    campaign = campaign_for(crowd, budget=Decimal("200"), holdout_share=Decimal("0"))

    assert coupon_issue_preview(campaign_id=campaign.pk)["needs_confirmation"] is False
    result = coupon_issue_to_segment(campaign_id=campaign.pk)

    assert (result.issued, result.stopped_by_budget, result.not_covered) == (20, False, 0)


def test_per_customer_limit_is_by_customer(crowd):
    campaign = campaign_for(per_customer_limit=2)
    coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="c1")
    coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="c1")

    with pytest.raises(ApplicationError) as raised:
        coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="c1")

    assert raised.value.errors == {"customer": ["Per-customer limit reached."]}
    assert Coupon.objects.filter(customer__distinct_id="c1").count() == 2


def test_the_database_refuses_committing_past_the_budget(crowd):
    campaign = campaign_for(budget=Decimal("10"))

    with pytest.raises(Exception):  # noqa: B017 - IntegrityError from the CHECK constraint, on both databases
        CouponCampaign.objects.filter(pk=campaign.pk).update(committed=Decimal("10.01"))


def test_bad_campaign_fields_are_field_errors(db):
    with pytest.raises(Exception) as raised:
        campaign_for(valid_to=timezone.now() - timedelta(days=30), face_value=Decimal("0"))

    assert set(raised.value.message_dict) == {"valid_to", "face_value"}
    assert CouponCampaign.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_never_passes_the_budget_nor_double_issues(crowd):
    if connection.vendor != "postgresql":
        missing_service("row locks need PostgreSQL (DATABASE_URL)")
    campaign = campaign_for(budget=Decimal("50"), per_customer_limit=1)
    coupon_codes_generate(campaign_id=campaign.pk, count=40)
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def issue(n: int) -> None:
        try:
            barrier.wait()
            coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id=f"c{n % 8}")
            outcomes.append("issued")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    campaign.refresh_from_db()
    holders = list(Coupon.objects.filter(campaign=campaign, customer__isnull=False).values_list("customer_id",
                                                                                                 flat=True))
    assert outcomes.count("issued") == 5
    assert len(holders) == len(set(holders)) == 5
    assert campaign.committed == Decimal("50")
    assert outcomes.count("budget") + outcomes.count("limit") == 7


@pytest.fixture
def redeemed(db):
    """alice and bob get codes; alice redeems hers (¥60 order), bob's code is used by mallory right after signing up;
    carol is in the holdout and orders ¥20 without a code."""
    now = timezone.now()
    events_load([
        event_row("visit", "alice", now - timedelta(days=30), channel="wechat"),
        event_row("visit", "bob", now - timedelta(days=30), channel="wechat"),
        event_row("visit", "carol", now - timedelta(days=30), channel="wechat"),
        event_row("order_paid", "carol", now - timedelta(days=2), order_id="c1", amount=20, merchant_id="m"),
    ])
    customers_refresh()
    campaign = campaign_for(holdout_share=Decimal("0"), min_spend=Decimal("30"))
    alice_code = coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="alice", now=now - timedelta(days=5))
    bob_code = coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="bob", now=now - timedelta(days=5))
    CouponHoldout.objects.create(campaign=campaign, customer=Customer.objects.get(distinct_id="carol"))
    events_load([
        event_row("order_paid", "alice", now - timedelta(days=3), order_id="a1", amount=60, merchant_id="m",
                  coupon_code=alice_code.code),
        event_row("order_paid", "alice", now - timedelta(days=1), order_id="a2", amount=40, merchant_id="m"),
        event_row("visit", "mallory", now - timedelta(days=1, minutes=30), channel="douyin"),
        event_row("signup", "mallory", now - timedelta(days=1, minutes=20)),
        event_row("order_paid", "mallory", now - timedelta(days=1), order_id="m1", amount=35, merchant_id="m",
                  coupon_code=bob_code.code),
        event_row("order_paid", "bob", now - timedelta(hours=5), order_id="b1", amount=50, merchant_id="m",
                  coupon_code="NOT-OURS"),
    ])
    customers_refresh()
    coupon_redemptions_refresh(campaign_id=campaign.pk)
    return campaign


def test_redemptions_are_read_from_orders_and_flagged(redeemed):
    rows = {r.order_id: (r.accepted, r.discount, r.suspicious, r.reasons) for r in CouponRedemption.objects.all()}

    assert rows == {
        "a1": (True, Decimal("10.00"), False, []),
        # mallory redeemed yesterday: too young to say she never ordered again (tests/users/test_coupon_fraud_window.py)
        "m1": (False, Decimal("0.00"), True, ["used_by_another_customer"]),
    }


def test_campaign_results(redeemed):
    results = coupon_campaign_results(campaign_id=redeemed.pk)

    assert results == {
        "issued": 2, "issued_customers": 2, "holdout_customers": 1, "redeemed": 1, "suspicious": 1,
        "redemption_rate": 0.5, "cost": 10.0, "platform_cost": 10.0, "committed": 20.0, "budget": 1000.0,
        "revenue_of_redeemers": 100.0, "revenue_per_issued_customer": 75.0, "revenue_per_holdout_customer": 20.0,
        "incremental_revenue": 110.0, "roi": 10.0, "redemptions_by_days_since_issue": [{"days": 2, "redeemed": 1}],
        "too_young_to_judge": 1, "judge_from": "2026-12-08", "lift": results["lift"],
    }
    conversion, spend = results["lift"]["conversion"], results["lift"]["spend"]
    assert (conversion["holdout_buyers"], conversion["holdout_customers"], conversion["treatment_buyers"],
            conversion["treatment_customers"]) == (1, 1, 2, 2)
    assert (conversion["before"], conversion["after"], conversion["verdict"]) == (1.0, 1.0, "too_small")
    assert (spend["before"], spend["after"], spend["p_value"], spend["verdict"]) == (20.0, 75.0, None, "too_small")


def test_refreshing_redemptions_twice_keeps_one_row_per_code(redeemed):
    coupon_redemptions_refresh(campaign_id=redeemed.pk)

    assert CouponRedemption.objects.count() == 2


# Holdout lift: tests and intervals against a brute-force reference


def _reference_lift(treatment: list[float], holdout: list[float]) -> dict:
    """Brute force from per-customer spend lists (0 = did not buy): scipy's Welch test, a hand-written pooled
    z-test and Wald interval."""
    import math

    from scipy import stats

    n1, n2 = len(holdout), len(treatment)
    x1, x2 = sum(1 for v in holdout if v > 0), sum(1 for v in treatment if v > 0)
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    half = 1.959963984540054 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    welch = stats.ttest_ind(treatment, holdout, equal_var=False)
    ci = welch.confidence_interval(0.95)
    return {"z": z, "p": 2 * stats.norm.sf(abs(z)), "ci": (p2 - p1 - half, p2 - p1 + half),
            "t": float(welch.statistic), "t_p": float(welch.pvalue), "t_ci": (float(ci.low), float(ci.high))}


def _stats_of(values: list[float]) -> dict:
    return {"buyers": sum(1 for v in values if v > 0), "revenue": sum(values), "squares": sum(v * v for v in values)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_holdout_lift_matches_a_brute_force_reference(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    treatment = [float(v) if rng.random() < 0.35 else 0.0 for v in rng.integers(20, 200, 400)]
    holdout = [float(v) if rng.random() < 0.25 else 0.0 for v in rng.integers(20, 200, 120)]

    lift = coupon_holdout_lift(treatment=_stats_of(treatment), treatment_n=len(treatment),
                               holdout=_stats_of(holdout), holdout_n=len(holdout))

    reference = _reference_lift(treatment, holdout)
    conversion, spend = lift["conversion"], lift["spend"]
    assert conversion["statistic"] == pytest.approx(reference["z"])
    assert conversion["p_value"] == pytest.approx(reference["p"])
    assert (conversion["ci_low"], conversion["ci_high"]) == pytest.approx(reference["ci"])
    assert spend["statistic"] == pytest.approx(reference["t"])
    assert spend["p_value"] == pytest.approx(reference["t_p"])
    assert (spend["ci_low"], spend["ci_high"]) == pytest.approx(reference["t_ci"])
    for test in (conversion, spend):
        significant = test["p_value"] < 0.05
        assert test["verdict"] == (("significant_up" if test["difference"] > 0 else "significant_down")
                                   if significant else "not_significant")


@pytest.mark.parametrize(("treatment", "holdout"), [
    ([], []),  # nobody issued, no holdout
    ([0.0] * 50, [0.0] * 40),  # zero conversions on both sides
    ([30.0] * 50, []),  # an empty holdout
    ([50.0, 0.0] * 10, [0.0, 20.0] * 5),  # fewer than 30 on a side
])
def test_holdout_lift_edges_are_not_significant_yet_and_never_fail(treatment, holdout):
    lift = coupon_holdout_lift(treatment=_stats_of(treatment), treatment_n=len(treatment),
                               holdout=_stats_of(holdout), holdout_n=len(holdout))

    assert lift["conversion"]["verdict"] == lift["spend"]["verdict"] == "too_small"
