"""Local days, weeks (Monday first) and months in TIME_ZONE, as aware instants and as vectorised ordinals.

Ordinals count periods since 1970-01-01 in local time: days, Monday-based weeks, months. Consecutive
periods have consecutive ordinals, so "period cohort+k" is ``ordinal == cohort + k``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from django.utils import timezone

PERIODS = ("day", "week", "month")
# 1970-01-01 was a Thursday: Monday-based week ordinals start from Monday 1969-12-29.
_MONDAY_OFFSET = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def period_first_day(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_add(first_day: date, period: str, count: int) -> date:
    """The first day of the period ``count`` periods after the one starting on ``first_day``."""
    if period == "day":
        return first_day + timedelta(days=count)
    if period == "week":
        return first_day + timedelta(weeks=count)
    months = first_day.year * 12 + first_day.month - 1 + count
    return date(months // 12, months % 12 + 1, 1)


def epoch_us(series: pd.Series) -> pd.Series:
    """Aware datetimes → int64 microseconds since the epoch."""
    if not len(series):
        return pd.Series([], dtype="int64", index=series.index)
    return pd.to_datetime(series, utc=True).dt.as_unit("us").astype("int64")


def moment_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def on_whole_utc_hours(*moments: datetime) -> bool:
    """Whether every instant starts a UTC hour (a local midnight does in every time zone whose offset is whole
    hours, daylight saving included; not in India's +05:30 or Nepal's +05:45)."""
    return all(moment.timestamp() % 3600 == 0 for moment in moments)


def local_ordinals(microseconds: pd.Series | np.ndarray, period: str) -> np.ndarray:
    """Period ordinals in the current time zone of instants given in microseconds since the epoch."""
    instants = pd.to_datetime(np.asarray(microseconds, dtype="int64"), unit="us", utc=True)
    local = instants.tz_convert(timezone.get_current_timezone_name()).tz_localize(None)
    days = local.values.astype("datetime64[D]").astype("int64")
    if period == "day":
        return days
    if period == "week":
        return (days + _MONDAY_OFFSET) // 7
    return local.values.astype("datetime64[M]").astype("int64")


def ordinal_first_day(ordinal: int, period: str) -> date:
    epoch = date(1970, 1, 1)
    if period == "day":
        return epoch + timedelta(days=int(ordinal))
    if period == "week":
        return epoch + timedelta(days=int(ordinal) * 7 - _MONDAY_OFFSET)
    return date(1970 + int(ordinal) // 12, int(ordinal) % 12 + 1, 1)
