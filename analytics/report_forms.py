"""The parameters every report shares — ``where=`` filters, ``breakdown=properties.K``, ``segment=`` and
``exclude_segment=`` — and the trends and stickiness reports' forms. One set of rules for the API and the pages.

The syntax of a filter is parsed in one place (analytics/services/filters.py); here it becomes a form field, and the
names a report reads are checked against what is stored: an unknown event or property is a field error listing the
nearest known names.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics import selectors
from analytics.forms import (
    DateRangeForm,
    FunnelForm,
    GoldenTimeForm,
    ListWidget,
    RetentionForm,
    _event_field,
    default_range,
)
from analytics.services.filters import FilterError, property_key, unknown_names, where_parse
from analytics.services.funnel import MAX_EXCLUSIONS, MAX_WINDOW_DAYS
from analytics.services.trends import DEFAULT_BREAKDOWN_LIMIT, INTERVALS, MAX_BREAKDOWN_LIMIT, MEASURES, VALUE_MEASURES
from ops_platform.core.cohorts import segment_people


class WhereField(forms.Field):
    """``where=properties.<key>:<op>:<value>``, repeatable: a list of ``PropertyFilter``."""

    widget = ListWidget

    def to_python(self, value):
        items = [str(item) for item in (value or []) if str(item).strip()]
        try:
            return where_parse(items)
        except FilterError as error:
            raise forms.ValidationError(str(error), code="invalid") from None


class PropertyField(forms.CharField):
    """``properties.<key>`` (``channel`` too, an alias of ``properties.channel``): the key, or None."""

    def __init__(self, *, aliases=("channel",), bare=False, **kwargs):
        self.aliases, self.bare = aliases, bare
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 220)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        if self.bare and not text.startswith("properties."):
            text = "properties." + text
        try:
            key = property_key(text, aliases=self.aliases)
        except FilterError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
        return key


SEGMENT_ERRORS = {"invalid": _("Choose a segment by its id."), "min_value": _("Choose a segment by its id."),
                  "max_value": _("Choose a segment by its id.")}
MAX_ID = 2**31 - 1


class ReportFiltersMixin(forms.Form):
    """``where``, ``segment`` and ``exclude_segment``, and the check of the names a report reads."""

    where = WhereField(label=_("Filters"), required=False,
                       help_text=_("properties.<key>:<op>:<value>, e.g. properties.merchant_id:eq:m12"))
    segment = forms.IntegerField(label=_("Only customers in segment"), required=False, min_value=1,
                                 max_value=MAX_ID, error_messages=SEGMENT_ERRORS)
    exclude_segment = forms.IntegerField(label=_("Leave out customers in segment"), required=False, min_value=1,
                                         max_value=MAX_ID, error_messages=SEGMENT_ERRORS)

    def report_events(self) -> list[tuple[str, str]]:
        """(field, event name) pairs the report reads; each form says."""
        return []

    def report_properties(self) -> list[tuple[str, str]]:
        """(field, property key) pairs the report reads besides its filters."""
        return []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("segment") and cleaned.get("segment") == cleaned.get("exclude_segment"):
            self.add_error("exclude_segment", _("Keeping and leaving out the same segment leaves nobody: choose "
                                                "another segment to leave out, or none."))
        for field in ("segment", "exclude_segment"):
            if cleaned.get(field):
                people = segment_people(cleaned[field])
                if people is None:
                    self.add_error(field, _("No segment has the id %(id)s.") % {"id": cleaned[field]})
                cleaned[f"{field}_people"] = people
        if not self.errors:
            properties = self.report_properties() + [("where", item.key) for item in cleaned.get("where") or []]
            known = selectors.known_event_names()
            # With no event stored at all (a fresh install) there is nothing to suggest: the report reads zeros.
            events = self.report_events() if known else []
            errors = unknown_names(events=events, properties=properties, known_events=known)
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned

    def filter_arguments(self) -> dict:
        data = self.cleaned_data
        return {"where": data.get("where") or [], "people": data.get("segment_people"),
                "exclude_people": data.get("exclude_segment_people")}

    @property
    def uses_segment(self) -> bool:
        data = self.data
        return bool(data.get("segment") or data.get("exclude_segment"))


def breakdown_limit_field() -> forms.IntegerField:
    """``breakdown_limit``: how many breakdown values a report keeps (the rest are "(other)"), 1…25."""
    message = _("Show from 1 to 25 values.")
    return forms.IntegerField(label=_("Values shown"), required=False, min_value=1, max_value=MAX_BREAKDOWN_LIMIT,
                              error_messages={"invalid": message, "min_value": message, "max_value": message})


class TrendsForm(ReportFiltersMixin, DateRangeForm):
    field_order = ["event", "measure", "property", "interval", "date_from", "date_to", "breakdown", "breakdown_limit",
                   "where", "segment", "exclude_segment", "compare", "chart"]
    MEASURE_CHOICES = [("total", _("Events")), ("unique", _("Unique customers")), ("sum", _("Sum of a property")),
                       ("avg", _("Average of a property")), ("median", _("Median of a property"))]
    INTERVAL_CHOICES = [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))]
    CHART_CHOICES = [("line", _("Line")), ("bar", _("Bars"))]

    event = _event_field(_("Event"))
    measure = forms.ChoiceField(label=_("Measure"), choices=MEASURE_CHOICES, required=False, error_messages={
        "invalid_choice": _("Choose a measure: total, unique, sum, avg or median.")})
    property = PropertyField(label=_("Numeric property"), aliases=(), bare=True,
                             widget=forms.TextInput(attrs={"list": "property-names", "autocomplete": "off"}),
                             help_text=_("For sum, average and median, e.g. amount."))
    interval = forms.ChoiceField(label=_("Interval"), choices=INTERVAL_CHOICES, required=False, error_messages={
        "invalid_choice": _("Choose an interval: day, week or month.")})
    breakdown = PropertyField(label=_("Breakdown"), widget=forms.TextInput(
        attrs={"list": "breakdown-names", "autocomplete": "off", "placeholder": "properties.utm_source"}))
    breakdown_limit = breakdown_limit_field()
    compare = forms.BooleanField(label=_("Compare with the previous period"), required=False)
    chart = forms.ChoiceField(label=_("Chart"), choices=CHART_CHOICES, required=False)

    def clean(self):
        measure = self.cleaned_data.get("measure") or "total"
        if measure in VALUE_MEASURES and not self.cleaned_data.get("property") and "property" not in self.errors:
            self.add_error("property", _("Sum, average and median need a numeric property, e.g. amount."))
        return super().clean()

    def report_events(self):
        return [("event", self.cleaned_data["event"])] if self.cleaned_data.get("event") else []

    def report_properties(self):
        data = self.cleaned_data
        pairs = []
        if data.get("breakdown"):
            pairs.append(("breakdown", data["breakdown"]))
        if data.get("property") and (data.get("measure") or "total") in VALUE_MEASURES:
            pairs.append(("property", data["property"]))
        return pairs

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        return {"event": data["event"], "measure": data.get("measure") or "total", "property": data.get("property"),
                "interval": data.get("interval") or "day", "date_from": data["date_from"], "date_to": data["date_to"],
                "breakdown": data.get("breakdown"),
                "breakdown_limit": data.get("breakdown_limit") or DEFAULT_BREAKDOWN_LIMIT,
                "compare": bool(data.get("compare")), **self.filter_arguments()}


def trends_defaults(last_day) -> dict:
    return {"event": "order_paid", "measure": "total", "interval": "day", **default_range(last_day)}


assert set(MEASURES) == {choice for choice, _label in TrendsForm.MEASURE_CHOICES}
assert set(INTERVALS) == {choice for choice, _label in TrendsForm.INTERVAL_CHOICES}


class StickinessForm(ReportFiltersMixin, DateRangeForm):
    field_order = ["event", "date_from", "date_to", "where", "segment", "exclude_segment"]

    event = _event_field(_("Event"))

    def report_events(self):
        return [("event", self.cleaned_data["event"])] if self.cleaned_data.get("event") else []

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        return {"event": data["event"], "date_from": data["date_from"], "date_to": data["date_to"],
                **self.filter_arguments()}


def stickiness_defaults(last_day) -> dict:
    return {"event": "order_paid", **default_range(last_day)}


# The funnel, retention and golden-time forms with the shared filters (the API, the pages and saved insights use these)


_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STEP_WINDOW_ERROR = _("Write each step's window as a number and a unit — s, m, h or d (30m, 2h, 7d) — from 1 second "
                      "to 365 days, separated by commas; leave an entry empty for none.")


class StepWindowsField(forms.CharField):
    """``step_windows=1d,,2h``: per step after the first, its window in seconds, or None (an empty entry)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text or not text.replace(",", "").strip():
            return []
        windows = []
        for entry in text.split(","):
            if not entry.strip():
                windows.append(None)
                continue
            match = _DURATION.match(entry)
            seconds = int(match[1]) * _UNIT_SECONDS[match[2]] if match else 0
            if not 1 <= seconds <= MAX_WINDOW_DAYS * 86400:
                raise forms.ValidationError(STEP_WINDOW_ERROR, code="invalid")
            windows.append(seconds)
        while windows and windows[-1] is None:
            windows.pop()
        return windows


class ExclusionsField(forms.Field):
    """``exclude=<event>:<a>:<b>``, repeatable: (event, a, b) with steps numbered from 1."""

    widget = ListWidget

    def to_python(self, value):
        exclusions = []
        for raw in value or []:
            item = str(raw).strip()
            if not item:
                continue
            name, _colon, tail = item.rpartition(":")
            name, _colon, head = name.rpartition(":")
            if not (name.strip() and head.strip().isdigit() and tail.strip().isdigit()) or "\x00" in name \
                    or len(name) > 200:
                raise forms.ValidationError(
                    _("“%(item)s” is not an exclusion: write <event>:<from step>:<to step>, for example "
                      "ticket_opened:2:3.") % {"item": item[:80]}, code="invalid")
            exclusions.append((name.strip(), int(head), int(tail)))
        if len(exclusions) > MAX_EXCLUSIONS:
            raise forms.ValidationError(_("At most 5 exclusions at a time."), code="count")
        return exclusions


class FilteredFunnelForm(ReportFiltersMixin, FunnelForm):
    field_order = ["steps", "window_days", "date_from", "date_to", "closed_only", "breakdown", "breakdown_limit",
                   "step_windows", "exclude", "value_property", "where", "segment", "exclude_segment"]

    breakdown = PropertyField(label=_("Breakdown"), widget=forms.TextInput(
        attrs={"list": "breakdown-names", "autocomplete": "off", "placeholder": "channel"}),
        help_text=_("channel, or a property of the entry event: properties.utm_source"))
    breakdown_limit = breakdown_limit_field()
    step_windows = StepWindowsField(label=_("Window per step"), widget=forms.TextInput(
        attrs={"placeholder": "1d, 2h", "autocomplete": "off"}),
        help_text=_("From each step to the next, e.g. 1d, 2h (s, m, h, d); empty for none. The overall window "
                    "still applies."))
    exclude = ExclusionsField(label=_("Exclusion steps"), required=False,
                              help_text=_("<event>:<from step>:<to step>, e.g. ticket_opened:2:3 — a customer who "
                                          "does it between those steps stops at the first."))
    value_property = PropertyField(label=_("Value property"), aliases=(), bare=True, widget=forms.TextInput(
        attrs={"list": "property-names", "autocomplete": "off", "placeholder": "amount"}),
        help_text=_("Sum and average of a numeric property of each step's event, e.g. amount."))
    closed_only = forms.BooleanField(
        label=_("Only entrants whose window has closed"), required=False,
        help_text=_("Leave out the customers who entered less than the conversion window ago: their later steps can "
                    "still come."))

    def clean(self):
        data = self.cleaned_data
        steps = data.get("steps") or []
        if steps and "steps" not in self.errors:
            if len(data.get("step_windows") or []) > len(steps) - 1:
                self.add_error("step_windows", _("Give at most one window per step after the first (%(count)s).")
                               % {"count": len(steps) - 1})
            for name, first, last in data.get("exclude") or []:
                if not 1 <= first < last <= len(steps):
                    self.add_error("exclude", _(
                        "“%(name)s:%(first)s:%(last)s”: the steps go from 1 to %(count)s, the first before the "
                        "second.") % {"name": name, "first": first, "last": last, "count": len(steps)})
        return super().clean()

    def report_events(self):
        data = self.cleaned_data
        return [("steps", name) for name in data.get("steps") or []] + [
            ("exclude", name) for name, _first, _last in data.get("exclude") or []]

    def report_properties(self):
        data = self.cleaned_data
        pairs = []
        if data.get("breakdown") and data["breakdown"] != "channel":
            pairs.append(("breakdown", data["breakdown"]))
        if data.get("value_property"):
            pairs.append(("value_property", data["value_property"]))
        return pairs

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        options = {}
        if data.get("breakdown"):
            options["breakdown_limit"] = data.get("breakdown_limit") or DEFAULT_BREAKDOWN_LIMIT
        if data.get("step_windows"):
            options["step_windows"] = list(data["step_windows"])
        if data.get("exclude"):
            options["exclusions"] = [(name, first - 1, last - 1) for name, first, last in data["exclude"]]
        if data.get("value_property"):
            options["value_property"] = data["value_property"]
        if data.get("closed_only"):
            options["closed_only"] = True
        return {**super().report_arguments(), **options, **self.filter_arguments()}


class FilteredRetentionForm(ReportFiltersMixin, RetentionForm):
    field_order = [*RetentionForm.field_order, "breakdown", "breakdown_limit", "where", "segment", "exclude_segment"]

    breakdown = PropertyField(label=_("Breakdown"), widget=forms.TextInput(
        attrs={"list": "breakdown-names", "autocomplete": "off", "placeholder": "channel"}),
        help_text=_("channel, or a property of the cohort event: properties.utm_source"))
    breakdown_limit = breakdown_limit_field()

    def report_events(self):
        data = self.cleaned_data
        return [(field, data[field]) for field in ("cohort_event", "return_event") if data.get(field)]

    def report_properties(self):
        breakdown = self.cleaned_data.get("breakdown")
        return [("breakdown", breakdown)] if breakdown and breakdown != "channel" else []

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        options = {"breakdown": data["breakdown"],
                   "breakdown_limit": data.get("breakdown_limit") or DEFAULT_BREAKDOWN_LIMIT} \
            if data.get("breakdown") else {}
        return {**super().report_arguments(), **options, **self.filter_arguments()}


class FilteredGoldenTimeForm(ReportFiltersMixin, GoldenTimeForm):
    field_order = [*GoldenTimeForm.field_order, "where", "segment", "exclude_segment"]

    def report_events(self):
        return [("event", self.cleaned_data["event"])] if self.cleaned_data.get("event") else []

    def report_arguments(self) -> dict:
        return {**super().report_arguments(), **self.filter_arguments()}
