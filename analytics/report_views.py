"""Pages of the trends and stickiness reports. Thin: the report's form (the API's rules), one selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics import forms, report_forms, selectors
from analytics.services.filters import property_keys
from ops_platform.core.cohorts import segment_choices, segment_filter_allowed
from ops_platform.core.db import ReportTimeout, statement_timeout
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.labels import trend_series_label
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_download
from ops_platform.core.roles import Area


def _point_note(point: dict) -> str | None:
    if point["value"] is None and not point["complete"]:  # not started (or nothing to average so far): no point
        return None
    if not point["complete"]:
        return _("so far")
    if point["cut"]:
        return _("part of the period")
    return None


def trends_chart(report: dict, chart: str, *, breakdown: str = "") -> dict:
    """What the trends chart draws: the periods, a dataset per series (previous-range ones dashed), partial notes.
    Legends are built here, in the reader's language (the report's ``label`` stays the API's)."""
    current = [s for s in report["series"] if not s.get("compare")]
    labels = [point["period"] for point in current[0]["points"]] if current else []
    datasets = []
    for series in report["series"]:
        label = trend_series_label(series, breakdown=breakdown)
        if series.get("compare"):
            label = _("%(series)s (previous period)") % {"series": label}
        datasets.append({"label": label, "values": [point["value"] for point in series["points"]],
                         "compare": bool(series.get("compare")),
                         "partial": [_point_note(point) for point in series["points"]]})
    return {"type": "bar" if chart == "bar" else "line", "labels": labels, "datasets": datasets}


def report_page(request, *, form_class, defaults, compute, template, context=None):
    form = forms.page_form(form_class, request.GET, defaults=lambda: defaults(selectors.report_last_day()))
    report, status = None, 200
    if form.uses_segment and not segment_filter_allowed(request.user):
        messages.error(request, _("Your role does not allow restricting a report to a segment: it can single out "
                                  "customers."))
        status = 403
    elif form.is_valid():
        try:
            with statement_timeout():
                report = compute(**form.report_arguments())
        except ReportTimeout as timeout:
            messages.error(request, timeout.message)
            status = 503
        except ApplicationError as refused:  # the report's own refusal (a 400): under its fields, as the API says it
            form_add_errors(form, refused, message=False)
            if not refused.errors:
                messages.error(request, refused.message)
            status = refused.status_code
    event_names = selectors.event_names()
    data = form.data
    named = [data.get("event"), data.get("cohort_event"), data.get("return_event"),
             *(data.getlist("steps") if hasattr(data, "getlist") else data.get("steps") or [])]
    events = [name for name in dict.fromkeys(named) if name in event_names]
    return render(request, template, {
        "form": form, "report": report, "event_names": event_names,
        "property_names": property_keys(events=events) if events else [],
        "segments": segment_choices() if segment_filter_allowed(request.user) else [],
        "where_values": [item.as_param() for item in (form.cleaned_data.get("where") or [])]
        if hasattr(form, "cleaned_data") else [],
        "exclude_values": [value for value in (data.getlist("exclude") if hasattr(data, "getlist")
                                               else data.get("exclude") or []) if str(value).strip()],
        **(context(form, report) if context and report else {}),
    }, status=status)


@role_required(Area.ANALYTICS)
def trends_page(request):
    def context(form, report):
        chart = form.cleaned_data.get("chart") or "line"
        shown = trends_chart(report, chart, breakdown=form.cleaned_data.get("breakdown") or "")
        # each series beside its legend (worded in the reader's language) for the table under the chart
        return {"chart": shown, "rows": [(series, dataset, list(zip(series["points"], dataset["partial"], strict=True)))
                                         for series, dataset in zip(report["series"], shown["datasets"], strict=True)]}

    return report_page(request, form_class=report_forms.TrendsForm, defaults=report_forms.trends_defaults,
                        compute=selectors.trends_compute, template="analytics/trends.html", context=context)


def stickiness_chart(report: dict) -> dict:
    notes = [None if day["complete"] or day["dau"] is None else _("so far") for day in report["days"]]
    return {"type": "line", "labels": [day["date"] for day in report["days"]], "datasets": [
        {"label": _("Daily active"), "values": [day["dau"] for day in report["days"]], "partial": notes},
        {"label": _("Weekly active (7 days)"), "values": [day["wau"] for day in report["days"]], "partial": notes},
        {"label": _("Monthly active (30 days)"), "values": [day["mau"] for day in report["days"]], "partial": notes},
    ]}


def active_days_chart(rows: list[dict]) -> dict:
    return {"type": "bar", "labels": [str(row["days"]) for row in rows],
            "datasets": [{"label": _("Customers"), "values": [row["customers"] for row in rows], "partial": None}]}


@role_required(Area.ANALYTICS)
def stickiness_page(request):
    def context(form, report):
        return {"chart": stickiness_chart(report), "chart_7": active_days_chart(report["active_days_7"] or []),
                "chart_30": active_days_chart(report["active_days_30"] or [])}

    return report_page(request, form_class=report_forms.StickinessForm, defaults=report_forms.stickiness_defaults,
                        compute=selectors.stickiness_compute, template="analytics/stickiness.html", context=context)


@role_required(Area.ANALYTICS)
def report_export(request, kind: str):
    """``/analytics/<report>/export/``: the URLconf names the report (``kind``), one view serves the five."""
    return report_download(request, kind)
