"""Pages of the analytics app. Thin: parse a form, call selectors or one service, render.

Report pages take the same parameters, under the same rules, as the API (analytics/forms.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from analytics import forms, report_forms, report_views, selectors
from analytics.forms import AarrrFilterForm, BackfillForm, ExportStartForm, IngestKeyCreateForm, NameMappingForm
from analytics.models import IngestKey, NameMapping
from analytics.services import naming
from analytics.services.exports import export_job_create, export_job_retry
from analytics.services.keys import ingest_key_create, ingest_key_revoke
from analytics.tasks import metrics_backfill_queue
from ops_platform.core.chart_markers import chart_markers
from ops_platform.core.exceptions import ApplicationError, flash_errors, form_add_errors
from ops_platform.core.periods import period_start
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_file_format, report_file_params
from ops_platform.core.roles import Action, Area, can

STAGE_LABELS = {
    "acquisition": gettext_lazy("Acquisition"), "activation": gettext_lazy("Activation"),
    "retention": gettext_lazy("Retention"), "revenue": gettext_lazy("Revenue"), "referral": gettext_lazy("Referral"),
}


# What a chart's tooltip adds under a point whose period is not complete (ops_platform/core/periods.py).
POINT_NOTES = {"so_far": gettext_lazy("so far"), "cut": gettext_lazy("only part of the week is in the range")}


def _flash_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@role_required(Area.ANALYTICS)
def aarrr_overview(request):
    channels = selectors.aarrr_channels()
    form = AarrrFilterForm(request.GET, channels=channels)
    if not form.is_valid():
        return render(request, "analytics/aarrr.html", {"form": form}, status=400)
    params = form.cleaned_data
    date_from, date_to, channel = params["date_from"], params["date_to"], params.get("channel") or None
    shown = request.GET.copy()  # the form shows the range in force, defaults included
    shown["date_from"], shown["date_to"] = date_from.isoformat(), date_to.isoformat()
    form = AarrrFilterForm(shown, channels=channels)
    comparison = selectors.aarrr_comparison_window(date_from=date_from, date_to=date_to)
    stages = selectors.aarrr_period_comparison(date_from=date_from, date_to=date_to, channel=channel,
                                               window=comparison)
    for stage in stages:
        stage["label"] = STAGE_LABELS[stage["key"]]
    series = selectors.aarrr_chart_series(date_from=date_from, date_to=date_to, channel=channel,
                                          comparison=comparison)
    markers = chart_markers(date_from=date_from, date_to=date_to)
    points, interval = series["points"], series["interval"]
    chart = {"interval": interval, "labels": [point["date"].isoformat() for point in points],
             "stages": [{"key": key, "label": str(label),
                         "values": [None if point[key] is None else float(point[key]) for point in points]}
                        for key, label in STAGE_LABELS.items()],
             "partial": [str(POINT_NOTES[point["state"]]) if POINT_NOTES.get(point["state"]) else None
                         for point in points],
             "markers": [{"date": period_start(m["date"], interval).isoformat(), "label": m["label"]}
                         for m in markers]}
    query = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    if channel:
        query["channel"] = channel
    return render(request, "analytics/aarrr.html", {
        "form": form, "date_from": date_from, "date_to": date_to, "channel": channel, "stages": stages,
        "comparison": comparison,
        "chart": chart, "channels": selectors.aarrr_channel_summary(date_from=date_from, date_to=date_to),
        "export_query": urlencode(query), "range_so_far": any(point["state"] == "so_far" for point in points),
        "can_recompute": can(request.user, Area.METRICS_RUNS, Action.CHANGE),
        "can_export_job": can(request.user, Area.ANALYTICS, Action.CHANGE),
        "backfill_form": BackfillForm(initial={"date_from": date_from, "date_to": date_to}),
        "runs": selectors.metrics_run_list(limit=5), "markers": markers,
    })


@role_required(Area.METRICS_RUNS, Action.CHANGE)
@require_POST
def aarrr_recompute(request):
    form = BackfillForm(request.POST)
    if not form.is_valid():
        _flash_errors(request, form)
        return redirect("analytics:aarrr")
    try:
        queued = metrics_backfill_queue(**form.cleaned_data)
    except ApplicationError as error:  # the task queue is down
        messages.error(request, error.message)
        return redirect("analytics:aarrr")
    messages.success(request, _("Recomputing %(from)s – %(to)s in %(count)s task(s); the runs appear below.") % {
        "from": form.cleaned_data["date_from"], "to": form.cleaned_data["date_to"], "count": queued})
    return redirect(f"{reverse('analytics:aarrr')}?date_from={form.cleaned_data['date_from']}"
                    f"&date_to={form.cleaned_data['date_to']}")


@role_required(Area.ANALYTICS)
def export_list(request):
    jobs = selectors.export_job_list(user=request.user)
    return render(request, "analytics/exports.html", {"jobs": jobs})


@role_required(Area.ANALYTICS, Action.CHANGE)
@require_POST
def export_start(request):
    form = ExportStartForm(request.POST, channels=selectors.aarrr_channels())
    if not form.is_valid():
        _flash_errors(request, form)
        return redirect("analytics:aarrr")
    data = form.cleaned_data
    params = {"date_from": data["date_from"].isoformat(), "date_to": data["date_to"].isoformat()}
    if data.get("channel"):
        params["channel"] = data["channel"]
    try:
        export_job_create(kind=data["kind"], params=params, file_format=data["file_format"],
                          created_by=request.user)
    except ApplicationError as error:  # the task queue is down (503): the job is marked failed, retry it later
        messages.error(request, error.message)
        return redirect("analytics:exports")
    messages.success(request, _("The export has started; it is listed below with its progress."))
    return redirect("analytics:exports")


@role_required(Area.ANALYTICS, Action.CHANGE)
@require_POST
def export_report_start(request):
    """A report page's "export in the background": ``kind``, ``file_format`` and the page's query string (``query``)
    become an export job (the same parameters the page's download takes); the exports page shows its progress."""
    kind = request.POST.get("kind", "")
    try:
        file_format = report_file_format(request.POST.get("file_format"))
        params = report_file_params(kind, QueryDict(request.POST.get("query", "")), user=request.user)
        export_job_create(kind=kind, params=params, file_format=file_format, created_by=request.user)
    except ApplicationError as error:  # bad parameters (400), a role that may not read it (403), no queue (503)
        flash_errors(request, error)
        return redirect("analytics:exports")
    messages.success(request, _("The export has started; it is listed below with its progress."))
    return redirect("analytics:exports")


@role_required(Area.ANALYTICS, Action.CHANGE)
@require_POST
def export_retry(request, job_id):
    try:
        export_job_retry(user=request.user, job_id=job_id)
    except ApplicationError as error:  # not yours, not failed, or the task queue is down
        messages.error(request, error.message)
    else:
        messages.success(request, _("The export has started again; it is listed below with its progress."))
    return redirect("analytics:exports")


def _report_page(request, *, form_class, defaults, compute, template):
    return report_views.report_page(request, form_class=form_class, defaults=defaults, compute=compute,
                                    template=template)


@role_required(Area.ANALYTICS)
def funnel_page(request):
    return _report_page(request, form_class=report_forms.FilteredFunnelForm, defaults=forms.funnel_defaults,
                        compute=selectors.funnel_compute, template="analytics/funnel.html")


@role_required(Area.ANALYTICS)
def retention_page(request):
    return _report_page(request, form_class=report_forms.FilteredRetentionForm, defaults=forms.retention_defaults,
                        compute=selectors.retention_compute, template="analytics/retention.html")


@role_required(Area.ANALYTICS)
def golden_time_page(request):
    return _report_page(request, form_class=report_forms.FilteredGoldenTimeForm, defaults=forms.golden_time_defaults,
                        compute=selectors.golden_time_compute, template="analytics/golden_time.html")


@role_required(Area.INGEST_KEYS)
def ingest_keys(request):
    return render(request, "analytics/ingest_keys.html", {
        "keys": selectors.ingest_key_list(),
        "can_manage": can(request.user, Area.INGEST_KEYS, Action.CHANGE),
    })


@role_required(Area.INGEST_KEYS, Action.CHANGE)
def ingest_key_create_page(request):
    form = IngestKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw_key = ingest_key_create(name=form.cleaned_data["name"], created_by=request.user)
        # Rendered, not redirected: the secret is never stored, so this answer is the only place it appears.
        response = render(request, "analytics/ingest_key_created.html", {"key": key, "raw_key": raw_key})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "analytics/ingest_key_create.html", {"form": form})


@role_required(Area.INGEST_KEYS, Action.CHANGE)
def ingest_key_revoke_page(request, pk: int):
    key = get_object_or_404(IngestKey, pk=pk)
    if request.method == "POST":
        try:
            ingest_key_revoke(key=key)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Key “%(name)s” revoked: requests with it are now refused.")
                             % {"name": key.name})
        return redirect("analytics:ingest-keys")
    return render(request, "analytics/ingest_key_revoke.html", {"key": key})


@role_required(Area.EVENT_NAMES)
def name_mappings(request):
    """The canonical-name mappings: the list (with what each changed on the last days' events), a draft's preview,
    saving it. Administrators only."""
    form = NameMappingForm(request.POST or None, initial={"kind": "event", "days": naming.PREVIEW_DEFAULT_DAYS})
    preview, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            draft = naming.Draft.of(kind=data["kind"], source=data["source"], target=data["target"],
                                    scope=data["scope"])
            try:
                if request.POST.get("action") == "save":
                    if not can(request.user, Area.EVENT_NAMES, Action.CHANGE):  # should reading ever be opened
                        raise PermissionDenied("Your role does not allow this change.")
                    naming.name_mapping_create(draft=draft, created_by=request.user)
                    messages.success(request, _("Mapping saved: events received from now on are renamed."))
                    return redirect("analytics:name-mappings")
                preview = naming.name_mapping_preview(draft=draft, days=data["days"] or naming.PREVIEW_DEFAULT_DAYS)
            except ApplicationError as error:
                form_add_errors(form, error)
        if form.errors:
            status = 400
    days = naming.PREVIEW_DEFAULT_DAYS
    mappings = list(NameMapping.objects.select_related("created_by").order_by("kind", "scope", "source"))
    counts = naming.name_mappings_counts(mappings, days=days)
    for mapping in mappings:
        mapping.changed = counts[mapping.pk]
    return render(request, "analytics/name_mappings.html", {
        "form": form, "preview": preview, "mappings": mappings, "days": days,
        "canonical_events": naming.CANONICAL_EVENTS,
    }, status=status)


@role_required(Area.EVENT_NAMES, Action.CHANGE)
def name_mapping_delete_page(request, pk: int):
    mapping = get_object_or_404(NameMapping, pk=pk)
    if request.method == "POST":
        naming.name_mapping_delete(mapping=mapping)
        messages.success(request, _("Mapping “%(mapping)s” deleted.") % {"mapping": str(mapping)})
        return redirect("analytics:name-mappings")
    return render(request, "analytics/name_mapping_delete.html", {"mapping": mapping})
