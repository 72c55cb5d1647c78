"""Periods in TIME_ZONE: local days, weeks (Monday first), months and quarters, and whether one is complete by now.

A period is named by its first day. It is **complete** once its last day has ended (by local midnight after it),
so the period holding today is never complete, and a period is **in progress** while today falls within it. Every
app asks these questions here, so "this week" means the same on the desk, the tiers and the reports. Imports no app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import serializers

from ops_platform.core import clock
from ops_platform.core.exceptions import ApplicationError

DAY, WEEK, MONTH, QUARTER = "day", "week", "month", "quarter"
PERIODS = (DAY, WEEK, MONTH, QUARTER)
_MONTHS = {MONTH: 1, QUARTER: 3}


def local_today() -> date:
    """Today in TIME_ZONE (the only "now" a period is judged against, unless a caller passes its own): the local day
    of ``clock.now()``, so a report pinned to an earlier instant (an export job) judges its periods then."""
    return timezone.localdate(clock.now())


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


# Relative ranges ("the last 30 days", "the last 8 complete weeks"), resolved when they are read: a saved report or a
# dashboard keeps the words, and each day they mean that day's dates. "last_N_days|weeks|months" are the N complete
# periods before the current one (yesterday back, last week back, last month back): they never hold a partial
# period. "this_week" and "this_month" are the period in progress, so far (today included).

RELATIVE_RANGE = re.compile(
    r"^(?:last_(?P<count>[1-9][0-9]{0,2})_(?P<unit>days|weeks|months)|this_(?P<this>week|month))$")
RELATIVE_RANGE_MAX_DAYS = 400  # the reports' own cap: longer is refused when saved
RELATIVE_RANGE_PRESETS = (
    ("last_7_days", _("Last 7 days")), ("last_30_days", _("Last 30 days")), ("last_90_days", _("Last 90 days")),
    ("last_4_weeks", _("Last 4 complete weeks")), ("last_8_weeks", _("Last 8 complete weeks")),
    ("last_3_months", _("Last 3 complete months")), ("last_12_months", _("Last 12 complete months")),
    ("this_week", _("This week so far")), ("this_month", _("This month so far")),
)
_UNITS = {"days": DAY, "weeks": WEEK, "months": MONTH}


def relative_range(spec: str, *, today: date | None = None) -> tuple[date, date]:
    """The local dates ``spec`` covers today (or on ``today``); ValueError for words it does not know."""
    match = RELATIVE_RANGE.match(spec or "")
    if match is None:
        raise ValueError(f"unknown relative range {spec!r}")
    today = today or local_today()
    if match["this"]:
        return period_start(today, match["this"]), today
    period = _UNITS[match["unit"]]
    last = last_complete_period(period, today=today)
    return period_add(last, period, 1 - int(match["count"])), period_end(last, period)


def relative_range_days(spec: str) -> int:
    """How many days ``spec`` can span at most (months taken as 31 days), to refuse a range no report takes."""
    match = RELATIVE_RANGE.match(spec or "")
    if match is None:
        raise ValueError(f"unknown relative range {spec!r}")
    if match["this"]:
        return 31
    return int(match["count"]) * {"days": 1, "weeks": 7, "months": 31}[match["unit"]]


def relative_range_label(spec: str) -> str:
    """``spec`` in words, in the active language ("Last 8 complete weeks")."""
    presets = dict(RELATIVE_RANGE_PRESETS)
    if spec in presets:
        return str(presets[spec])
    match = RELATIVE_RANGE.match(spec or "")
    if match is None:
        return spec
    count = int(match["count"])
    if match["unit"] == "days":
        return ngettext("Last %(count)s day", "Last %(count)s days", count) % {"count": count}
    if match["unit"] == "weeks":
        return ngettext("Last %(count)s complete week", "Last %(count)s complete weeks", count) % {"count": count}
    return ngettext("Last %(count)s complete month", "Last %(count)s complete months", count) % {"count": count}


# Date ranges a caller accepts ("date_from" / "date_to", inclusive local days): one rule per caller, stated in one line
# (its default end, its default span, its longest span, whether the end may be in the future), checked here for the
# pages' forms, the API's serializers and the services alike, so a page and its API refuse the same ranges with the same
# field errors.

TODAY, YESTERDAY = "today", "yesterday"
_DEFAULT_ENDS = {TODAY: 0, YESTERDAY: 1}
RANGE_MESSAGES = {
    # what is wrong → (the field it is shown on, the message); %(date_from)s, %(days)s and %(max_days)s are filled in
    "order": ("date_to", _("Choose an end date on or after the start date, %(date_from)s.")),
    "span": ("date_to", _("Choose a range of at most %(max_days)s days (this one has %(days)s).")),
    "future": ("date_to", _("The end date cannot be in the future.")),
}

RANGE_SUMMARIES = {"order": _("The range ends before it starts."), "span": _("The range is too long."),
                   "future": _("The range reaches into the future.")}


class DateRangeError(ValueError):
    """A range a rule refuses: the field to show it on and the message (translated)."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__(message)
        self.field, self.message, self.code = field, message, code


@dataclass(frozen=True)
class DateRange:
    """A caller's rule for a date range.

    ``default_end``: TODAY or YESTERDAY, used when ``date_to`` is left out (None: the caller's fields are required);
    ``default_days``: the span (in days, the end included) when ``date_from`` is left out; ``max_days``: the longest
    span accepted (None: no cap); ``future``: whether ``date_to`` may be after today; ``messages``: the caller's own
    wording for some of RANGE_MESSAGES (kept where people and scripts already read it)."""

    default_end: str | None = None
    default_days: int = 30
    max_days: int | None = None
    future: bool = True
    messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def resolve(self, date_from: date | None, date_to: date | None, *, today: date | None = None,
                earliest: date | None = None) -> tuple[date, date]:
        """The range with its defaults filled in (a defaulted start is not before ``earliest``); DateRangeError when
        the rule refuses it."""
        today = today or local_today()
        if date_to is None:
            if self.default_end is None:
                raise ValueError("date_to is required by this rule")
            date_to = today - timedelta(days=_DEFAULT_ENDS[self.default_end])
        if date_from is None:
            date_from = date_to - timedelta(days=self.default_days - 1)
            if earliest is not None:
                date_from = max(date_from, earliest)
        days = (date_to - date_from).days + 1
        if date_from > date_to:
            self._refuse("order", date_from=date_from.isoformat(), days=days)
        if self.max_days is not None and days > self.max_days:
            self._refuse("span", days=days)
        if not self.future and date_to > today:
            self._refuse("future", days=days)
        return date_from, date_to

    def _refuse(self, code: str, **params) -> None:
        field_name, message = self.messages.get(code) or RANGE_MESSAGES[code]
        raise DateRangeError(field_name, str(message) % {"max_days": self.max_days, **params}, code)

    def resolve_or_refuse(self, date_from: date | None, date_to: date | None, *, earliest: date | None = None
                          ) -> tuple[date, date]:
        """For a service: ``resolve``, or an ApplicationError (a 400 with the refusal under its field)."""
        try:
            return self.resolve(date_from, date_to, earliest=earliest)
        except DateRangeError as error:
            raise ApplicationError(str(RANGE_SUMMARIES[error.code]), errors={error.field: [error.message]},
                                   code="invalid_range") from None

    def clean_form(self, form, cleaned: dict) -> dict:
        """For a Django form's ``clean()``: fills the defaults into ``cleaned`` and adds a refusal to its field. Left
        alone when a date field already has its own error (it was not a date)."""
        if form.has_error("date_from") or form.has_error("date_to"):
            return cleaned
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_to is None and self.default_end is None:
            return cleaned  # a required field: its "required" error is already there
        try:
            cleaned["date_from"], cleaned["date_to"] = self.resolve(date_from, date_to)
        except DateRangeError as error:
            form.add_error(error.field, error.message)
        return cleaned

    def validate_attrs(self, attrs: dict) -> dict:
        """For a DRF serializer's ``validate()``: the attributes with the defaults filled in, or a ValidationError
        holding the refusal under its field (the API answers 400 with field errors)."""
        if attrs.get("date_to") is None and self.default_end is None:
            raise serializers.ValidationError({"date_to": [_("Enter a date as YYYY-MM-DD, for example 2026-03-01.")]},
                                              code="required")
        try:
            date_from, date_to = self.resolve(attrs.get("date_from"), attrs.get("date_to"))
        except DateRangeError as error:
            raise serializers.ValidationError({error.field: [error.message]}, code=error.code) from None
        return {**attrs, "date_from": date_from, "date_to": date_to}
