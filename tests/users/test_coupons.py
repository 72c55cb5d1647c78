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


def test_budget_stops_issuing_with_a_message(crowd):
    campaign = campaign_for(crowd, budget=Decimal("75"))

    result = coupon_issue_to_segment(campaign_id=campaign.pk)

    campaign.refresh_from_db()
    assert (result.issued, result.stopped_by_budget) == (7, True)
    assert result.message == "Budget reached: issuing stopped after 7 codes."
    assert campaign.committed == Decimal("70")


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
        "m1": (False, Decimal("0.00"), True, ["used_by_another_customer", "redeemed_right_after_signup_never_again"]),
    }


def test_campaign_results(redeemed):
    results = coupon_campaign_results(campaign_id=redeemed.pk)

    assert results == {
        "issued": 2, "issued_customers": 2, "holdout_customers": 1, "redeemed": 1, "suspicious": 1,
        "redemption_rate": 0.5, "cost": 10.0, "platform_cost": 10.0, "committed": 20.0, "budget": 1000.0,
        "revenue_of_redeemers": 100.0, "revenue_per_issued_customer": 75.0, "revenue_per_holdout_customer": 20.0,
        "incremental_revenue": 110.0, "roi": 10.0, "redemptions_by_days_since_issue": [{"days": 2, "redeemed": 1}],
    }


def test_refreshing_redemptions_twice_keeps_one_row_per_code(redeemed):
    coupon_redemptions_refresh(campaign_id=redeemed.pk)

    assert CouponRedemption.objects.count() == 2
