"""Periods in TIME_ZONE: local days, weeks (Monday first), months and quarters, and whether one is complete by now.

A period is named by its first day. It is **complete** once its last day has ended (by local midnight after it),
so the period holding today is never complete, and a period is **in progress** while today falls within it. Every
app asks these questions here, so "this week" means the same on the desk, the tiers and the reports. Imports no app.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

DAY, WEEK, MONTH, QUARTER = "day", "week", "month", "quarter"
PERIODS = (DAY, WEEK, MONTH, QUARTER)
_MONTHS = {MONTH: 1, QUARTER: 3}


def local_today() -> date:
    """Today in TIME_ZONE (the only "now" a period is judged against, unless a caller passes its own)."""
    return timezone.localdate()


def local_day_start(day: date) -> datetime:
    """Local midnight at the start of ``day`` in the current time zone (TIME_ZONE), as an aware instant."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def local_range(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The aware ``[start, end)`` of the local days ``date_from`` … ``date_to`` (inclusive)."""
    return local_day_start(date_from), local_day_start(date_to + timedelta(days=1))


def period_start(day: date, period: str) -> date:
    """The first day of the ``period`` (day, week from Monday, month, quarter) that holds ``day``."""
    if period == DAY:
        return day
    if period == WEEK:
        return day - timedelta(days=day.weekday())
    if period == QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == MONTH:
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def period_add(start: date, period: str, count: int) -> date:
    """The first day of the period ``count`` periods after (or before, when negative) the one holding ``start``."""
    start = period_start(start, period)
    if period == DAY:
        return start + timedelta(days=count)
    if period == WEEK:
        return start + timedelta(weeks=count)
    months = start.year * 12 + start.month - 1 + count * _MONTHS[period]
    return date(months // 12, months % 12 + 1, 1)


def period_end(start: date, period: str) -> date:
    """The last day (inclusive) of the period holding ``start``."""
    return period_add(start, period, 1) - timedelta(days=1)


def period_days(start: date, period: str) -> int:
    """How many days the period holding ``start`` has (7 for a week, 28–31 for a month)."""
    return (period_end(start, period) - period_start(start, period)).days + 1


def period_is_complete(start: date, period: str, *, today: date | None = None) -> bool:
    """Whether the period holding ``start`` has fully ended by ``today`` (default: the local today)."""
    return period_end(start, period) < (today or local_today())


def period_days_elapsed(start: date, period: str, *, today: date | None = None) -> int:
    """Days of the period holding ``start`` that have ended by ``today``: 0 before it starts (and on its first day),
    all of them once it is complete. Today itself is in progress, so it does not count."""
    first = period_start(start, period)
    return min(max(((today or local_today()) - first).days, 0), period_days(first, period))


def last_complete_period(period: str, *, today: date | None = None) -> date:
    """The first day of the latest complete period (last week when today falls in this one, yesterday for days)."""
    return period_add(period_start(today or local_today(), period), period, -1)


def period_starts(date_from: date, date_to: date, period: str) -> list[date]:
    """The first days of the periods that overlap ``date_from`` … ``date_to``, oldest first."""
    starts, current = [], period_start(date_from, period)
    while current <= date_to:
        starts.append(current)
        current = period_add(current, period, 1)
    return starts
