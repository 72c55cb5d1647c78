"""The reports a saved insight can hold, contributed by the apps that own them.

A report is read through its own API's parser and selector: ``parse(query)`` takes the query string the report's
API takes (a ``QueryDict``) and returns the selector's keyword arguments, raising ``ApplicationError`` with field
errors on bad input; ``compute(**arguments)`` is the selector the API calls. A saved insight stores the kind and
the exact query parameters, and is evaluated through these two, so its result is the API's answer for the same
parameters, and a parameter a report learns later (a filter, a breakdown) is saved and applied with no change here.

The apps register their kinds when Django starts (``AppConfig.ready``), as they do chart markers; the insights app
reads them here. This module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from rest_framework import serializers

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import YESTERDAY, DateRange
from ops_platform.core.roles import Area

DATE_PARAMETERS = ("date_from", "date_to")


@dataclass(frozen=True)
class ReportKind:
    key: str  # "funnel", "retention", …
    label: str | Promise
    area: Area  # a reader needs to view this area (the report's own API asks the same)
    parse: Callable[[Mapping], dict]
    compute: Callable[..., dict]
    parameters: tuple[str, ...]  # the query parameters the report takes (its parser's fields)
    page_url_name: str = ""  # the report's page, which takes the same query string
    api_url_name: str = ""
    dated: bool = True  # takes date_from / date_to
    time_series: bool = False  # its chart runs over dates (launch markers and annotations are drawn on it)
    description: str | Promise = ""
    # ``segment=<id>`` names what the report is about (a segment's size), not whom it is restricted to
    segment_is_subject: bool = False

    @property
    def segment_filter(self) -> bool:
        """Whether ``segment=<id>`` restricts the report to a segment's members (a dashboard's segment filter applies
        to it, and only roles that read customer records may set it)."""
        return "segment" in self.parameters and not self.segment_is_subject


_KINDS: dict[str, ReportKind] = {}


def report_kind_register(kind: ReportKind) -> None:
    _KINDS[kind.key] = kind


def report_kind(key: str) -> ReportKind | None:
    return _KINDS.get(key)


def report_kinds() -> list[ReportKind]:
    """Every registered kind, in registration order (analytics first, as the apps are installed)."""
    return list(_KINDS.values())


def _refused(errors: dict) -> ApplicationError:
    return ApplicationError(_("The report's parameters are not valid; see the fields."), errors={
        field: [str(message) for message in messages] for field, messages in errors.items()})


def form_parser(form_class, arguments: Callable | None = None) -> Callable[[Mapping], dict]:
    """``parse`` for a report whose API reads a Django form: the form's field errors become the error's fields;
    ``arguments(form)`` (default ``form.report_arguments()``) gives the selector's keyword arguments."""

    def parse(query: Mapping) -> dict:
        form = form_class(query)
        if not form.is_valid():
            raise _refused(form.errors)
        return arguments(form) if arguments else form.report_arguments()

    return parse


def serializer_parser(serializer_class, arguments: Callable | None = None) -> Callable[[Mapping], dict]:
    """``parse`` for a report whose API reads a DRF serializer (its validated data are the arguments)."""

    def parse(query: Mapping) -> dict:
        serializer = serializer_class(data=query)
        if not serializer.is_valid():
            raise _refused({field: messages if isinstance(messages, list) else [messages]
                            for field, messages in serializer.errors.items()})
        data = dict(serializer.validated_data)
        return arguments(data) if arguments else data

    return parse


def form_parameters(form_class) -> tuple[str, ...]:
    """The query parameters a Django form reads (its fields), for ``ReportKind.parameters``."""
    return tuple(form_class.base_fields)


def serializer_parameters(serializer_class) -> tuple[str, ...]:
    return tuple(serializer_class().fields)


def _within_years(value: date) -> date:
    if not date(1970, 1, 1) <= value <= date(2099, 12, 31):
        raise serializers.ValidationError(_("Enter a date between 1970-01-01 and 2099-12-31."))
    return value


SECTION_RANGE = DateRange(default_end=YESTERDAY, default_days=7, max_days=400)  # a digest's section: the last week


class ReportRangeSerializer(serializers.Serializer):
    """``date_from`` / ``date_to`` of a report that has no page of its own (the digest's sections): by default the
    last 7 complete days; at most 400 days."""

    date_from = serializers.DateField(required=False, validators=[_within_years])
    date_to = serializers.DateField(required=False, validators=[_within_years])

    def validate(self, attrs):
        return SECTION_RANGE.validate_attrs(attrs)
