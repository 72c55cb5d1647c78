"""Customers follow identity merges: an anonymous visitor who identifies is one customer, with the visit's channel,
their coupon and their page under either id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.services.identity import Link, identities_link
from analytics.services.loading import events_load
from tests.factories import event_row
from users.models import Coupon, Customer, SegmentMember
from users.selectors import customer_get
from users.services.coupons import coupon_campaign_create, coupon_codes_generate, coupon_issue_to_customer
from users.services.customers import customers_refresh
from users.services.segments import segment_save

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def visitor_then_customer():
    now = NOW
    events_load([event_row("visit", "anon-1", now - timedelta(days=3), channel="wechat"),
                 event_row("signup", "alice", now - timedelta(days=2)),
                 event_row("order_paid", "alice", now - timedelta(days=1), amount=40, order_id="o1")])


def test_the_refresh_counts_an_identified_visitor_once_with_the_first_touch_channel():
    visitor_then_customer()
    customers_refresh()
    assert Customer.objects.count() == 2

    identities_link([Link(anonymous_id="anon-1", known_id="alice")])
    customers_refresh()

    alice = Customer.objects.get()
    assert (alice.distinct_id, alice.first_channel, alice.orders) == ("alice", "wechat", 1)
    assert alice.first_seen_at == NOW - timedelta(days=3)
    assert customer_get(distinct_id="anon-1") == alice


def test_a_coupon_and_segment_membership_of_the_anonymous_visitor_follow_the_merge():
    visitor_then_customer()
    customers_refresh()
    now = timezone.now()
    campaign = coupon_campaign_create(name="Welcome", kind="new_user", face_value=Decimal("10"),
                                      budget=Decimal("100"), valid_from=now - timedelta(days=5),
                                      valid_to=now + timedelta(days=5), holdout_share=Decimal("0"))
    coupon_codes_generate(campaign_id=campaign.pk, count=5)
    coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id="anon-1")
    segment = segment_save(name="Everyone", rules={"op": "and", "conditions": []})
    assert SegmentMember.objects.filter(segment=segment).count() == 2

    identities_link([Link(anonymous_id="anon-1", known_id="alice")])
    customers_refresh()

    alice = Customer.objects.get(distinct_id="alice")
    assert list(Coupon.objects.filter(customer__isnull=False).values_list("customer_id", flat=True)) == [
        alice.person_id]
    assert list(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True)) == [
        alice.person_id]
