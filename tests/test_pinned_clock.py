"""No test reads the real clock: every test starts at PINNED_NOW (tests/conftest.py) or at its own pin."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.conftest import PINNED_NOW


def test_every_clock_a_test_can_read_starts_at_the_pinned_instant():
    assert timezone.localdate() == date.today() == date(2026, 11, 25)
    for seen in (timezone.now(), datetime.now(UTC), datetime.fromtimestamp(time.time(), UTC)):
        assert 0 <= (seen - PINNED_NOW).total_seconds() < 60  # it ticks on from there


@pytest.mark.now(datetime(2027, 2, 28, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
def test_a_test_can_pin_its_own_instant():
    assert timezone.localdate() == date(2027, 2, 28)


@pytest.mark.now(date(2026, 12, 1))
def test_a_pinned_date_is_ten_in_the_morning_local_time():
    assert timezone.localtime().replace(microsecond=0, second=0).isoformat() == "2026-12-01T10:00:00+08:00"


def test_today_is_moves_the_clock_within_a_test(today_is):
    assert today_is(date(2026, 11, 1)) == date(2026, 11, 1)
    assert timezone.localdate() == date(2026, 11, 1)
