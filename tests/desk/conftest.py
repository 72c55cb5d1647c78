"""Builders for the desk's tests: crafted rows in the apps the desk reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.models import MerchantContact
from users.models import CouponCampaign, Segment, SegmentSize


@pytest.fixture
def contact_due():
    """contact_due(merchant, days=0) → an open follow-up due ``days`` from today (negative: overdue)."""

    def make(merchant, days: int = 0, done: bool = False, notes: str = "Call back about the menu"):
        today = timezone.localdate()
        return MerchantContact.objects.create(
            merchant=merchant, kind=MerchantContact.Kind.CALL, notes=notes,
            happened_at=timezone.now() - timedelta(days=10), follow_up_on=today + timedelta(days=days),
            follow_up_done_at=timezone.now() if done else None)

    return make


@pytest.fixture
def coupon_campaign():
    def make(name: str, *, budget=1000, committed=0, ends_in_days: int = 30, started_days_ago: int = 5):
        now = timezone.now()
        return CouponCampaign.objects.create(
            name=name, kind=CouponCampaign.Kind.NEW_USER, face_value=Decimal("10"), budget=Decimal(budget),
            committed=Decimal(committed), valid_from=now - timedelta(days=started_days_ago),
            valid_to=now + timedelta(days=ends_in_days))

    return make


@pytest.fixture
def segment_with_sizes():
    def make(name: str, sizes: list[int], created_by):
        segment = Segment.objects.create(name=name, rules={"all": []}, created_by=created_by, size=sizes[-1])
        today = timezone.localdate()
        for offset, size in enumerate(reversed(sizes)):
            SegmentSize.objects.create(segment=segment, date=today - timedelta(days=offset), size=size,
                                       build_seconds=0.1)
        return segment

    return make
