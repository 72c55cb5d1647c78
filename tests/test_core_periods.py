"""ops_platform/core/periods.py against a day-by-day brute force: every period of every kind over three years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ops_platform.core.periods import (
    DAY,
    MONTH,
    PERIODS,
    QUARTER,
    WEEK,
    last_complete_period,
    local_range,
    period_add,
    period_days,
    period_days_elapsed,
    period_end,
    period_is_complete,
    period_start,
    period_starts,
)

FIRST, LAST = date(2025, 1, 1), date(2027, 12, 31)


def brute_key(day: date, period: str):
    """What names a day's period, computed without any period arithmetic."""
    return {DAY: day, WEEK: day.isocalendar()[:2], MONTH: (day.year, day.month),
            QUARTER: (day.year, (day.month - 1) // 3)}[period]


def brute_periods(period: str) -> list[list[date]]:
    """Every period between FIRST and LAST as the list of its days (the two at the edges, maybe partial, dropped)."""
    groups: dict = {}
    for n in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=n)
        groups.setdefault(brute_key(day, period), []).append(day)
    return list(groups.values())[1:-1]


@pytest.mark.parametrize("period", PERIODS)
def test_every_day_maps_to_its_periods_bounds(period):
    for group in brute_periods(period):
        for day in group:
            assert period_start(day, period) == group[0]
            assert period_end(day, period) == group[-1]
            assert period_days(day, period) == len(group)


@pytest.mark.parametrize("period", PERIODS)
def test_consecutive_periods_follow_each_other(period):
    groups = brute_periods(period)
    for before, after in zip(groups, groups[1:], strict=False):
        assert period_add(before[0], period, 1) == after[0]
        assert period_add(after[-1], period, -1) == before[0]
    assert period_starts(groups[0][3 % len(groups[0])], groups[-1][0], period) == [group[0] for group in groups]


@pytest.mark.parametrize("period", PERIODS)
def test_a_period_is_complete_only_after_its_last_day(period):
    for group in brute_periods(period)[:40]:
        for today in [group[0] - timedelta(days=1), *group, group[-1] + timedelta(days=1)]:
            ended = [day for day in group if day < today]
            assert period_is_complete(group[0], period, today=today) == (len(ended) == len(group))
            assert period_days_elapsed(group[0], period, today=today) == len(ended)


def test_a_tuesdays_week_has_one_day_behind_it_and_last_week_is_the_complete_one():
    tuesday = date(2026, 12, 1)
    assert not period_is_complete(date(2026, 11, 30), WEEK, today=tuesday)
    assert period_days_elapsed(date(2026, 11, 30), WEEK, today=tuesday) == 1
    assert last_complete_period(WEEK, today=tuesday) == date(2026, 11, 23)
    assert last_complete_period(MONTH, today=tuesday) == date(2026, 11, 1)
    assert last_complete_period(DAY, today=tuesday) == date(2026, 11, 30)
    assert last_complete_period(QUARTER, today=tuesday) == date(2026, 7, 1)


def test_the_clock_is_pinned_for_every_test():
    assert period_is_complete(date(2026, 11, 24), DAY)
    assert not period_is_complete(date(2026, 11, 25), DAY)  # PINNED_NOW: Wednesday 2026-11-25, 10:00 local


def test_a_local_range_is_cut_at_local_midnight(settings):
    start, end = local_range(date(2026, 11, 23), date(2026, 11, 29))
    assert (start.isoformat(), end.isoformat()) == ("2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00")
