"""The funnel, retention, golden-time, trends and stickiness reports as files (CSV or XLSX), through the one export
writer (ops_platform/core/exports.py): the page's exact parameters, read by the page's own form, computed by the
selector the page and the API call, so a file holds the figures the page shows.

Each builder takes the query parameters as stored on an export job (``{name: [values]}``, JSON) and registers with
``report_register`` (analytics/services/exports.py), so the download API, export jobs and the pages' links all reach
it by kind.
"""

from __future__ import annotations

from functools import partial

from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from analytics import forms, report_forms, selectors
from analytics.services.exports import report_register
from analytics.services.exports import retention_report as retention_table
from ops_platform.core.cohorts import segment_filter_allowed
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.exports import (
    BOOLEAN,
    DATE,
    DATETIME,
    INT,
    NUMBER,
    PERCENT,
    TEXT,
    Column,
    ExportTable,
    Report,
)
from ops_platform.core.report_files import query_dict

FORMS = {
    "funnel": (report_forms.FilteredFunnelForm, selectors.funnel_compute),
    "retention": (report_forms.FilteredRetentionForm, selectors.retention_compute),
    "golden_time": (report_forms.FilteredGoldenTimeForm, selectors.golden_time_compute),
    "trends": (report_forms.TrendsForm, selectors.trends_compute),
    "stickiness": (report_forms.StickinessForm, selectors.stickiness_compute),
}


# What each report page shows on a first visit (``forms.page_form``); its download without parameters is the same.
PAGE_DEFAULTS = {
    "funnel": forms.funnel_defaults, "retention": forms.retention_defaults, "golden_time": forms.golden_time_defaults,
    "trends": report_forms.trends_defaults, "stickiness": report_forms.stickiness_defaults,
}


def _register(kind: str):
    """Register a builder with its page's form as the parameter check and the page's first-visit report."""
    return report_register(kind, params=partial(report_params, kind),
                           page_defaults=lambda: PAGE_DEFAULTS[kind](selectors.report_last_day()),
                           fields=lambda: FORMS[kind][0].base_fields)


def report_params(kind: str, data, *, user=None) -> dict:
    """The report's parameters from a query string or a job's ``params``, checked by the report's form (a 400 with
    its field errors), as ``{name: [values]}`` for the job to store. A segment needs customer records (403)."""
    form_class, _compute = FORMS[kind]
    query = query_dict(data)
    form = form_class(query)
    if user is not None and form.uses_segment and not segment_filter_allowed(user):
        raise ApplicationError(_("Your role does not allow restricting a report to a segment: it can single out "
                                 "customers."), status_code=403, code="permission_denied")
    if not form.is_valid():
        raise ApplicationError(_("The report's parameters are not valid; see the fields."),
                               errors={field: list(errors) for field, errors in form.errors.items()})
    return {key: query.getlist(key) for key in form_class.base_fields if key in query}


def _compute(kind: str, params: dict) -> dict:
    form_class, compute = FORMS[kind]
    form = form_class(query_dict(params))
    if not form.is_valid():
        raise ApplicationError(_("The report's parameters are not valid; see the fields."),
                               errors={field: list(errors) for field, errors in form.errors.items()})
    return compute(**form.report_arguments())


def _name(kind: str, params: dict) -> str:
    first, last = (params.get("date_from") or [""])[0], (params.get("date_to") or [""])[0]
    return f"{kind}_{first}_{last}".strip("_")


STEP_COLUMNS = [
    Column("step", _("Step"), INT), Column("event", _("Event")), Column("count", _("Customers"), INT),
    Column("conversion_from_previous", _("From previous step"), PERCENT),
    Column("conversion_from_first", _("From first step"), PERCENT),
    Column("median_seconds_to_convert", _("Median seconds to convert"), NUMBER),
    Column("avg_seconds_to_convert", _("Average seconds to convert"), NUMBER),
]


def _steps(steps: list[dict], value: str | None = None) -> list[dict]:
    return [{**step, "step": index + 1, "value": value} for index, step in enumerate(steps)]


VALUE_COLUMNS = [Column("value_sum", _("Value sum"), NUMBER), Column("value_avg", _("Value average"), NUMBER)]


@_register("funnel")
def funnel_report(params: dict) -> Report:
    result = _compute("funnel", params)
    columns = STEP_COLUMNS + (VALUE_COLUMNS if result["steps"] and "value_sum" in result["steps"][0] else [])
    tables = [ExportTable(title=str(_("Funnel")), columns=columns, rows=_steps(result["steps"]),
                          total=len(result["steps"]))]
    if result.get("breakdown") is not None:
        breakdown = (query_dict(params).get("breakdown") or "channel").strip()
        rows = [row for group in result["breakdown"] for row in _steps(group["steps"], group["value"])]
        if breakdown == "channel":
            title, label = str(_("Funnel by channel")), _("Channel")
        else:
            title = str(_("Funnel by %(property)s") % {"property": breakdown})
            label = breakdown
        tables.append(ExportTable(title=title, columns=[Column("value", label), *columns], rows=rows,
                                  total=len(rows)))
    tables.append(_window_table(result))
    return Report(name=_name("funnel", params), tables=tables)


WINDOW_COLUMNS = [Column("entrants", _("Entrants of")), Column("open", _("Entrants whose window is still open"), INT),
                  Column("as_of", _("As of"), DATETIME), Column("closed_before", _("Window closed for entries by"),
                                                                DATETIME),
                  Column("closed_only", _("Only entrants whose window has closed"), BOOLEAN),
                  Column("complete", _("Final"), BOOLEAN)]


def _window_table(result: dict) -> ExportTable:
    """How mature the funnel is (the page's note): how many entrants, overall and per breakdown value, can still
    convert — their later steps can still come, so those conversions are so far — and whether the answer is final."""
    window = result["window"]
    same = {"as_of": window["as_of"], "closed_before": window["closed_before"], "closed_only": window["closed_only"],
            "complete": window["complete"]}
    rows = [{"entrants": str(_("Every entrant")), "open": window["entrants_open"], **same}]
    rows += [{"entrants": group["value"], "open": group["entrants_window_open"], **same}
             for group in result.get("breakdown") or []]
    return ExportTable(title=str(_("Conversion window of %(days)s days") % {"days": window["days"]}),
                       columns=WINDOW_COLUMNS, rows=rows, total=len(rows))


@_register("retention")
def retention_report(params: dict) -> Report:
    """Blank cells for periods not started, "so far" on the period in progress, the average row (one layout for the
    page's download and the export jobs: ``analytics.services.exports.retention_table``)."""
    result = _compute("retention", params)
    report = retention_table(result, name=_name("retention", params))
    if result.get("breakdown") is not None:
        breakdown = (query_dict(params).get("breakdown") or "channel").strip()
        label = _("Channel") if breakdown == "channel" else breakdown
        rows, columns = [], None
        for group in result["breakdown"]:
            table = retention_table({"period": result["period"], "cohorts": group["cohorts"]}, name="").tables[0]
            columns = columns or [Column("value", label), *table.columns]
            rows += [[group["value"], *row] for row in table.rows]
        if columns:
            report.tables.append(ExportTable(title=str(_("Retention by %(property)s") % {"property": breakdown}),
                                             columns=columns, rows=rows))
    return report


@_register("golden_time")
def golden_time_report(params: dict) -> Report:
    result = _compute("golden_time", params)
    columns = [Column("weekday", _("Weekday"), TEXT), *[Column(f"h{hour:02d}", f"{hour:02d}", INT)
                                                       for hour in range(24)]]
    rows = [{"weekday": str(WEEKDAYS[day]), **{f"h{hour:02d}": count for hour, count in enumerate(counts)}}
            for day, counts in enumerate(result["matrix"])]
    return Report(name=_name("golden_time", params), tables=[
        ExportTable(title=str(_("Golden time")), columns=columns, rows=rows, total=len(rows))])


TREND_COLUMNS = [
    Column("label", _("Series")), Column("breakdown_value", _("Breakdown value")),
    Column("compare", _("Previous period"), BOOLEAN), Column("period", _("Period"), DATE),
    Column("value", _("Value"), NUMBER), Column("complete", _("Complete"), BOOLEAN),
    Column("cut", _("Cut by the range"), BOOLEAN),
]


@_register("trends")
def trends_report(params: dict) -> Report:
    result = _compute("trends", params)
    rows = [{"label": s["label"], "breakdown_value": s.get("breakdown_value"), "compare": bool(s.get("compare")),
             **point} for s in result["series"] for point in s["points"]]
    return Report(name=_name("trends", params), tables=[
        ExportTable(title=str(_("Trends")), columns=TREND_COLUMNS, rows=rows, total=len(rows))])


@_register("stickiness")
def stickiness_report(params: dict) -> Report:
    result = _compute("stickiness", params)
    days = [Column("date", _("Day"), DATE), Column("dau", "DAU", INT), Column("wau", "WAU", INT),
            Column("mau", "MAU", INT), Column("dau_mau", "DAU/MAU", PERCENT),
            Column("complete", _("Complete"), BOOLEAN)]
    active = [Column("days", _("Days active"), INT), Column("customers", _("Customers"), INT)]
    return Report(name=_name("stickiness", params), tables=[
        ExportTable(title=str(_("Stickiness")), columns=days, rows=result["days"], total=len(result["days"])),
        ExportTable(title=str(_("Days active of the last 7")), columns=active, rows=result["active_days_7"] or [],
                    total=7),
        ExportTable(title=str(_("Days active of the last 30")), columns=active, rows=result["active_days_30"] or [],
                    total=30),
    ])
