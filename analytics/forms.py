"""The parameters of the funnel, retention and golden-time reports: one set of rules for the API and the pages.

The API answers a 400 with these field errors; the pages show them next to the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from analytics.services.funnel import MAX_STEPS, MAX_WINDOW_DAYS, MIN_STEPS
from analytics.services.retention import DEFAULT_PERIODS, MAX_PERIODS
from ops_platform.core.labels import code_label
from ops_platform.core.periods import YESTERDAY, DateRange
from ops_platform.core.widgets import DateWidget

MAX_RANGE_DAYS = 400
# Each range rule (ops_platform/core/periods.py), for the pages and the API alike: the reports need both ends, at most
# 400 days; the AARRR overview defaults to the 30 days up to yesterday, at most ten years; a recompute stops at today.
REPORT_RANGE = DateRange(max_days=MAX_RANGE_DAYS)
AARRR_MAX_RANGE_DAYS = 3660
_START_AFTER_END = ("date_from", _("Pick a start on or before the end date."))
AARRR_RANGE = DateRange(default_end=YESTERDAY, default_days=30, max_days=AARRR_MAX_RANGE_DAYS,
                        messages={"order": _START_AFTER_END})
BACKFILL_RANGE = DateRange(max_days=AARRR_MAX_RANGE_DAYS, future=False, messages={"order": _START_AFTER_END})
# Far enough for any event stream, near enough that a window or 60 months later is still a valid date.
MIN_DATE, MAX_DATE = date(1970, 1, 1), date(2099, 12, 31)
EVENT_NAME_MAX_LENGTH = 200
ISO_DATE = ["%Y-%m-%d"]
DATE_WIDGET = DateWidget()
DATE_BOUNDS_MESSAGE = _("Enter a date between 1970-01-01 and 2099-12-31.")
DATE_VALIDATORS = [MinValueValidator(MIN_DATE, message=DATE_BOUNDS_MESSAGE),
                   MaxValueValidator(MAX_DATE, message=DATE_BOUNDS_MESSAGE)]
DATE_ERRORS = {
    "required": _("Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    "invalid": _("Enter a date as YYYY-MM-DD, for example 2026-03-01."),
}


class ListWidget(forms.Widget):
    """Reads every value of a repeated parameter (``steps=a&steps=b``) as well as one comma-separated value."""

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name)
        return value if isinstance(value, list) else ([] if value is None else [value])


class StepsField(forms.Field):
    widget = ListWidget
    default_error_messages = {
        "required": _("Enter the funnel's steps: between 2 and 10 event names, in order."),
    }

    def to_python(self, value) -> list[str]:
        parts = []
        for item in value or []:
            parts.extend(str(item).split(","))
        parts = [part.strip() for part in parts]
        while parts and not parts[-1]:
            parts.pop()  # an empty last field on the page, or a trailing comma
        return parts

    def validate(self, value: list[str]) -> None:
        if not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        errors = []
        for name in value:
            try:
                ProhibitNullCharactersValidator()(name)  # PostgreSQL text cannot hold them: a 400, not a 500
            except forms.ValidationError as error:
                raise forms.ValidationError(error.messages[0], code="null_characters") from None
        for position, name in enumerate(value, start=1):
            if not name:
                errors.append(forms.ValidationError(
                    _("Step %(position)s is empty: type an event name or remove the step."),
                    code="empty", params={"position": position}))
            elif len(name) > EVENT_NAME_MAX_LENGTH:
                errors.append(forms.ValidationError(
                    _("Step %(position)s is too long: event names have at most 200 characters."),
                    code="too_long", params={"position": position}))
        if not MIN_STEPS <= len(value) <= MAX_STEPS:
            errors.append(forms.ValidationError(
                _("A funnel has between 2 and 10 steps; you gave %(count)s. Add or remove steps."),
                code="count", params={"count": len(value)}))
        if errors:
            raise forms.ValidationError(errors)


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), input_formats=ISO_DATE, error_messages=DATE_ERRORS, widget=DATE_WIDGET,
                                validators=DATE_VALIDATORS)
    date_to = forms.DateField(label=_("To"), input_formats=ISO_DATE, error_messages=DATE_ERRORS, widget=DATE_WIDGET,
                              validators=DATE_VALIDATORS)

    def clean(self):
        return REPORT_RANGE.clean_form(self, super().clean())


def _event_field(label):
    widget = forms.TextInput(attrs={"list": "event-names", "autocomplete": "off"})
    return forms.CharField(label=label, max_length=EVENT_NAME_MAX_LENGTH, widget=widget, error_messages={
        "required": _("Enter an event name, for example order_paid."),
        "max_length": _("Event names have at most 200 characters."),
    })


class FunnelForm(DateRangeForm):
    field_order = ["steps", "window_days", "date_from", "date_to", "breakdown"]
    BREAKDOWN_CHOICES = [("", _("No breakdown")), ("channel", _("Channel of the entry event"))]

    steps = StepsField(label=_("Steps"))
    window_days = forms.IntegerField(label=_("Conversion window (days)"), min_value=1, max_value=MAX_WINDOW_DAYS,
                                     error_messages={
                                         "required": _("Enter a conversion window in days, from 1 to 365."),
                                         "invalid": _("Enter a conversion window in days, from 1 to 365."),
                                         "min_value": _("Enter a conversion window in days, from 1 to 365."),
                                         "max_value": _("Enter a conversion window in days, from 1 to 365."),
                                     })
    breakdown = forms.ChoiceField(label=_("Breakdown"), choices=BREAKDOWN_CHOICES, required=False,
                                  error_messages={"invalid_choice": _(
                                      "Breakdown can only be “channel”, or left out for none.")})

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        return {"steps": data["steps"], "window_days": data["window_days"], "date_from": data["date_from"],
                "date_to": data["date_to"], "breakdown": data["breakdown"] or None}


class RetentionForm(DateRangeForm):
    field_order = ["cohort_event", "return_event", "period", "periods", "date_from", "date_to"]
    PERIOD_CHOICES = [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))]

    cohort_event = _event_field(_("Cohort event"))
    return_event = _event_field(_("Return event"))
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, error_messages={
        "required": _("Choose a period: day, week or month."),
        "invalid_choice": _("Choose a period: day, week or month."),
    })
    periods = forms.IntegerField(label=_("Periods shown"), min_value=1, max_value=MAX_PERIODS, required=False,
                                 error_messages={
                                     "invalid": _("Enter how many periods to show, from 1 to 60."),
                                     "min_value": _("Enter how many periods to show, from 1 to 60."),
                                     "max_value": _("Enter how many periods to show, from 1 to 60."),
                                 })

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        return {"cohort_event": data["cohort_event"], "return_event": data["return_event"], "period": data["period"],
                "date_from": data["date_from"], "date_to": data["date_to"],
                "periods": data["periods"] or DEFAULT_PERIODS}


class GoldenTimeForm(DateRangeForm):
    field_order = ["event", "date_from", "date_to"]

    event = _event_field(_("Event"))

    def report_arguments(self) -> dict:
        data = self.cleaned_data
        return {"event": data["event"], "date_from": data["date_from"], "date_to": data["date_to"]}


def page_form(form_class: type[DateRangeForm], query, *, defaults: Callable[[], dict]) -> DateRangeForm:
    """The page's form: bound to the query string, or to ``defaults()`` on a first visit (no parameters)."""
    return form_class(query if query else defaults())


def default_range(last_day) -> dict:
    """The 30 days up to ``last_day``, as form data."""
    return {"date_from": (last_day - timedelta(days=29)).isoformat(), "date_to": last_day.isoformat()}


def funnel_defaults(last_day) -> dict:
    return {"steps": ["visit", "signup", "order_paid"], "window_days": "14", **default_range(last_day)}


def retention_defaults(last_day) -> dict:
    return {"cohort_event": "signup", "return_event": "order_paid", "period": "week", "periods": "8",
            **default_range(last_day - timedelta(days=60)), "date_to": last_day.isoformat()}


def golden_time_defaults(last_day) -> dict:
    return {"event": "order_paid", **default_range(last_day)}


# The AARRR overview, its recompute and export forms


class OptionalDateRangeForm(forms.Form):
    """A date range both ends of which may be left out: by default the last 30 days up to yesterday."""

    date_from = forms.DateField(label=_("From"), required=False, input_formats=ISO_DATE, widget=DATE_WIDGET,
                                error_messages=DATE_ERRORS)
    date_to = forms.DateField(label=_("To"), required=False, input_formats=ISO_DATE, widget=DATE_WIDGET,
                              error_messages=DATE_ERRORS)

    def clean(self):
        return AARRR_RANGE.clean_form(self, super().clean())


class AarrrFilterForm(OptionalDateRangeForm):
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args, channels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels"))] + [(c, code_label("channel", c)) for c in channels]


class BackfillForm(forms.Form):
    date_from = forms.DateField(label=_("From"), input_formats=ISO_DATE, widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    date_to = forms.DateField(label=_("To"), input_formats=ISO_DATE, widget=DATE_WIDGET, error_messages=DATE_ERRORS)

    def clean(self):
        return BACKFILL_RANGE.clean_form(self, super().clean())


class ExportStartForm(AarrrFilterForm):
    kind = forms.ChoiceField(choices=[("aarrr", "AARRR")])
    file_format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])


class IngestKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Who sends events with this key, e.g. “marketplace backend (production)”."))


class NameMappingForm(forms.Form):
    """A draft canonical-name mapping on the "Event names" page (analytics/services/naming.py checks the rules)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=[("event", _("Event name")), ("property", _("Property"))])
    source = forms.CharField(label=_("Name sent by the SDK"), max_length=EVENT_NAME_MAX_LENGTH,
                             validators=[ProhibitNullCharactersValidator()],
                             widget=forms.TextInput(attrs={"placeholder": "Order Completed"}))
    target = forms.CharField(label=_("Canonical name"), max_length=EVENT_NAME_MAX_LENGTH,
                             validators=[ProhibitNullCharactersValidator()],
                             widget=forms.TextInput(attrs={"placeholder": "order_paid"}))
    scope = forms.CharField(label=_("On event (properties; empty: every event)"), max_length=EVENT_NAME_MAX_LENGTH,
                            required=False, validators=[ProhibitNullCharactersValidator()])
    days = forms.IntegerField(label=_("Preview over the last days"), min_value=1, max_value=90, initial=7,
                              required=False)
