"""Goal periods: a calendar month or quarter, named by its first day. Imports no app."""

from __future__ import annotations

from datetime import date, timedelta

MONTH = "month"
QUARTER = "quarter"
# Goals are set for periods within these bounds (the pages clamp the day they show to them).
PERIOD_MIN = date(2000, 1, 1)
PERIOD_MAX = date(2099, 12, 31)


def period_start_of(*, kind: str, day: date) -> date:
    """The first day of the month or quarter that holds ``day``."""
    if kind == QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day.replace(day=1)


def period_end_of(*, kind: str, start: date) -> date:
    """The last day of the period that begins on ``start``."""
    months = 3 if kind == QUARTER else 1
    month = start.month - 1 + months
    if start.year + month // 12 > date.max.year:
        return date.max  # December 9999 ends on the calendar's last day
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def clamp_day(day: date) -> date:
    return min(max(day, PERIOD_MIN), PERIOD_MAX)


def is_period_start(*, kind: str, day: date) -> bool:
    return period_start_of(kind=kind, day=day) == day


def elapsed_fraction(*, start: date, end: date, on: date) -> float:
    """Share of the period gone by the end of ``on`` (0 before it starts, 1 from its last day on)."""
    days = (end - start).days + 1
    elapsed = min(max((on - start).days + 1, 0), days)
    return elapsed / days
