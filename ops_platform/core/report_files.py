"""Every report that downloads as a file, by kind: who may read it, how its parameters are checked, how its file is
built — registered by the app that owns the report, read by the download API, the export jobs and the pages' links.

Why here (``ops_platform/core``) and not in analytics, where the export jobs live: the domain apps reach analytics
only through its selectors (DESIGN.md's layers), yet channel quality, RFM, life cycle, merchant tiers and ticket
lists are theirs. So each app registers its files here when Django starts (``AppConfig.ready``, as it registers its
saved-insight kinds in ``core/reports.py``), and analytics' download API and job runner look kinds up here.

One pattern for every report (the five analytics reports set it):

- the page ``/<app>/<report>/export/`` takes the page's own query string, plus ``file_format=xlsx`` (CSV is the
  default); a first visit's download (no query string) is the page's default report (``page_defaults``);
- the API ``GET /api/v1/analytics/exports/download/?kind=<kind>&file_format=csv|xlsx&<the page's parameters>``, and
  ``POST /api/v1/analytics/exports/`` ``{"kind", "file_format", "params"}`` for a background job with progress;
- ``params(data, user=)`` checks the parameters with the parser the page and the API use (a 400 with field errors)
  and returns them as ``{name: [values]}``, JSON a job can store; ``build(params)`` parses them again and calls the
  selector the page calls, so the file holds the page's figures;
- ``label`` names the report in the reader's language (by default the saved-insight kind's label, ``core/reports.py``)
  and ``fields`` are the page's form (or serializer) fields, whose labels and choices name a job's stored parameters
  on the exports page (``report_params_display``).

This module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.http import QueryDict
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from ops_platform.core import exports as writer
from ops_platform.core.cohorts import segment_choices
from ops_platform.core.db import statement_timeout
from ops_platform.core.exceptions import ApplicationError, flash_errors
from ops_platform.core.exports import Report
from ops_platform.core.labels import code_label
from ops_platform.core.reports import report_kind
from ops_platform.core.roles import Action, Area, can

XLSX_DIRECT_LIMIT = 100_000  # rows a workbook is built with in a request; larger ones are built by an export job
FILE_FORMATS = ("csv", "xlsx")  # what a report downloads as (the API's ``file_format`` choices)

ReportBuilder = Callable[[dict], Report]
ParamsCheck = Callable[..., dict]  # (data, *, user) -> {name: [values]}
Fields = Callable[[], Mapping[str, Any]]  # () -> {parameter: form or serializer field}: labels and choices


@dataclass(frozen=True)
class ReportFile:
    kind: str
    build: ReportBuilder
    area: Area = Area.ANALYTICS  # a reader needs to view it (single customers' rows: CUSTOMER_RECORDS)
    params: ParamsCheck | None = None  # None: the API's own serializer checks them (analytics' aarrr, events)
    page_defaults: Callable[[], Mapping] | None = None  # what the page shows on a first visit
    large: bool = False  # may hold hundreds of thousands of rows: its page offers a background export
    label: Any = None  # the report's name (a lazy translation); None: the saved-insight kind's label
    fields: Fields | None = None  # the parameters' fields, read for their labels and choices (shown, never parsed)


_FILES: dict[str, ReportFile] = {}


def report_file_register(kind: str, *, area: Area = Area.ANALYTICS, params: ParamsCheck | None = None,
                         page_defaults: Callable[[], Mapping] | None = None, large: bool = False, label: Any = None,
                         fields: Fields | None = None) -> Callable[[ReportBuilder], ReportBuilder]:
    """Register ``build`` (the decorated function) as the file of report ``kind``."""

    def decorator(build: ReportBuilder) -> ReportBuilder:
        _FILES[kind] = ReportFile(kind=kind, build=build, area=area, params=params, page_defaults=page_defaults,
                                  large=large, label=label, fields=fields)
        return build

    return decorator


def report_file(kind: str) -> ReportFile | None:
    return _FILES.get(kind)


def report_file_kinds() -> list[str]:
    return sorted(_FILES)


def report_permitted(*, user, kind: str) -> bool:
    """May ``user`` read report ``kind``? (Its area's view permission; unknown kinds: nobody.)"""
    entry = _FILES.get(kind)
    return entry is not None and can(user, entry.area, Action.VIEW)


def report_require(*, user, kind: str) -> None:
    """A 403 ApplicationError unless ``user`` may read report ``kind`` (downloads, jobs and their files ask)."""
    entry = _FILES.get(kind)
    if entry is not None and not report_permitted(user=user, kind=kind):
        message = (_("Your role does not allow this report: it lists single customers. Ask an administrator for "
                     "access to customer records.") if entry.area == Area.CUSTOMER_RECORDS
                   else _("Your role does not allow this report."))
        raise ApplicationError(message, status_code=403, code="permission_denied")


def _unknown(kind: str) -> ApplicationError:
    return ApplicationError(f"Unknown report {kind!r}.", errors={"kind": [f"Choose one of {report_file_kinds()}."]})


def report_build(*, kind: str, params: dict) -> Report:
    entry = _FILES.get(kind)
    if entry is None:
        raise _unknown(kind)
    return entry.build(params)


def report_file_params(kind: str, data, *, user=None) -> dict:
    """The report's parameters checked by its own parser, ready to store on a job (``ReportFile.params``)."""
    entry = _FILES.get(kind)
    if entry is None:
        raise _unknown(kind)
    if entry.params is None:  # aarrr, events: their API's serializer checks them (or the AARRR page's export form)
        raise ApplicationError(_("Start this export from its page or its API."), errors={
            "kind": [_("This report takes its parameters from the export API.")]})
    return entry.params(data, user=user)


# Parameters: the query string a page or an API takes, kept as {name: [values]} (JSON a job can store)


def query_dict(params) -> QueryDict:
    """A ``QueryDict`` of a query string's or a stored job's parameters (``{name: value or [values]}``)."""
    query = QueryDict(mutable=True)
    for key, value in (params.lists() if hasattr(params, "lists") else params.items()):
        for item in value if isinstance(value, (list, tuple)) else [value]:
            query.appendlist(key, str(item))
    return query


def parsed_params(parse: Callable[[Mapping], dict], parameters: tuple[str, ...]) -> ParamsCheck:
    """``ReportFile.params`` for a report read by a ``core.reports`` parser (``form_parser``/``serializer_parser``):
    the parser's field errors are the 400's; only the report's own parameters are kept, and a date the parser
    filled in (a range's default) is kept as it was resolved, so a job run later covers the days the page showed."""

    def check(data, *, user=None) -> dict:
        query = query_dict(data)
        arguments = parse(query)
        kept = {key: query.getlist(key) for key in parameters if key in query}
        for key in parameters:
            if hasattr(arguments.get(key), "isoformat"):
                kept[key] = [arguments[key].isoformat()]
        return kept

    return check


def no_parameters(data, *, user=None) -> dict:
    """``ReportFile.params`` of a report that takes none (it describes things as they are now)."""
    return {}


def parsed_arguments(parse: Callable[[Mapping], dict], params: dict) -> dict:
    """The selector's keyword arguments of stored parameters (a builder's first line)."""
    return parse(query_dict(params))


# Parameters as a reader reads them (the exports page)

INTERNAL_PARAMETERS = ("as_of",)  # a job's snapshot of the data: the instant it was requested, shown as "Created"
# Parameters most reports take, named once; a report's own fields name the rest (and may name these otherwise).
PARAMETER_LABELS = {"date_from": _("From"), "date_to": _("To"), "event": _("Event"), "channel": _("Channel"),
                    "segment": _("Segment"), "team": _("Team")}
PARAMETER_VOCABULARIES = {"channel": "channel"}  # parameters whose values are codes with labels (core/labels.py)
SEGMENT_PARAMETERS = ("segment", "exclude_segment")  # a segment's id, shown by its name


def report_file_label(kind: str) -> str:
    """The report's name in the active language: its file's label, else its saved-insight kind's, else the code."""
    entry = _FILES.get(kind)
    if entry is not None and entry.label:
        return str(entry.label)
    saved = report_kind(kind)
    return str(saved.label) if saved is not None else kind


def report_params_display(kind: str, params: Mapping) -> list[tuple[str, str]]:
    """A job's stored parameters as (name, value) in the active language and time zone: each name by its field's
    label (or ``PARAMETER_LABELS``), a choice (or a channel code) by its label, a yes/no field in words, days and
    times in the locale's format (times in TIME_ZONE), a segment by its name, repeated values joined; internal ones
    (``as_of``) left out. In the order of the report's form (the range first), whatever order the database keeps
    JSON keys in. No query, or one for the segments' names when there is a segment."""
    entry = _FILES.get(kind)
    fields = dict(entry.fields()) if entry is not None and entry.fields is not None else {}
    order = {key: index for index, key in enumerate(dict.fromkeys([*fields, *PARAMETER_LABELS]))}
    shown, names = [], None
    for key in sorted(params, key=lambda key: (order.get(key, len(order)), key)):
        value = params[key]
        if key in INTERNAL_PARAMETERS:
            continue
        field = fields.get(key)
        label = getattr(field, "label", None) or PARAMETER_LABELS.get(key) or key
        items = value if isinstance(value, (list, tuple)) else [value]
        if key in SEGMENT_PARAMETERS:
            names = names if names is not None else {str(pk): name for pk, name in segment_choices()}
            shown.append((str(label), ", ".join(_segment_name(str(item), names) for item in items)))
            continue
        shown.append((str(label), ", ".join(_parameter_value(item, field, key) for item in items)))
    return shown


def _segment_name(segment_id: str, names: dict[str, str]) -> str:
    if segment_id in names:
        return names[segment_id]
    return str(_("a deleted segment (%(id)s)")) % {"id": segment_id}


def _choices(field) -> dict:
    """A field's fixed choices, value → label (a form's list of pairs or a serializer's dict; never a queryset's)."""
    choices = getattr(field, "choices", None)
    if isinstance(choices, Mapping):
        return {str(value): label for value, label in choices.items()}
    if isinstance(choices, (list, tuple)):
        return {str(value): label for value, label in choices if not isinstance(label, (list, tuple))}
    return {}


def _parameter_value(value, field, key: str) -> str:
    text = str(value)
    if isinstance(field, forms.BooleanField):
        yes, no = writer.yes_no()
        return yes if field.to_python(text) else no
    choices = _choices(field)
    if text in choices:
        return str(choices[text])
    if key in PARAMETER_VOCABULARIES:
        return code_label(PARAMETER_VOCABULARIES[key], text)
    moment = writer.iso_moment(text)
    if isinstance(moment, datetime):
        return formats.date_format(timezone.localtime(moment) if timezone.is_aware(moment) else moment,
                                   "DATETIME_FORMAT")
    if moment is not None:
        return formats.date_format(moment, "DATE_FORMAT")
    return text


def report_name(kind: str, params: dict) -> str:
    """A file's stem: the report and its range, ``channel_quality_2026-11-01_2026-11-30``."""
    first, last = (params.get("date_from") or [""])[0], (params.get("date_to") or [""])[0]
    return f"{kind}_{first}_{last}".strip("_")


# The pages' downloads


def report_file_format(value: str | None) -> str:
    """A page's ``file_format``: ``csv`` (also when missing or empty) or ``xlsx``; anything else is refused (a 400), as
    the API refuses it, rather than answered with a CSV the reader did not ask for."""
    if not value:
        return "csv"
    if value not in FILE_FORMATS:
        message = _("“%(value)s” is not a file format a report downloads as: choose CSV or XLSX.") % {
            "value": value[:40]}
        raise ApplicationError(message, errors={"file_format": [message]})
    return value


def report_download(request, kind: str, *, extra: Mapping | None = None):
    """A report page's download: ``/<app>/<report>/export/`` with the page's query string (``file_format=xlsx`` or
    CSV); ``extra``: parameters the page's URL implies ("my tickets": ``mine``). Refusals (bad parameters, an unknown
    file format, a role that may not, a query that ran too long) are a page saying why, with the status the API
    answers."""
    entry = _FILES[kind]
    try:
        file_format = report_file_format(request.GET.get("file_format"))
        report_require(user=request.user, kind=kind)
        query = request.GET.copy()
        query.pop("file_format", None)
        if not query and entry.page_defaults is not None:  # a first visit's download: the page's default report
            query = entry.page_defaults()
        if extra:
            query = query_dict({**dict(query_dict(query).lists()), **extra})
        params = report_file_params(kind, query, user=request.user)
        with statement_timeout():  # the builders compute the whole report here; the writer only lays it out
            report = entry.build(params)
            if file_format == "xlsx" and (report.total or 0) > XLSX_DIRECT_LIMIT:
                raise ApplicationError(_("This report has %(rows)s rows, too many for a workbook built at once: "
                                         "download the CSV, or start an export in the background.")
                                       % {"rows": f"{report.total:,}"}, status_code=413, code="too_large")
        return writer.file_response(report, file_format)
    except ApplicationError as error:  # ReportTimeout (503) is one too
        flash_errors(request, error)
        return render(request, "analytics/export_refused.html", status=error.status_code)
