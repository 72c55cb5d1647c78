"""Pages of the insights app. Thin: parse a form, check, call one service or selector, render or redirect.

A report page's "Save as insight" opens ``new`` with the report's kind and its query string; an insight opens as its
live report; a dashboard is a grid of tiles that static/js/insights.js draws and keeps fresh."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goals import selectors as goal_selectors
from insights import selectors
from insights.forms import (
    WEEKDAYS,
    AnnotationForm,
    DashboardFiltersForm,
    DashboardForm,
    InsightSaveForm,
    SubscriptionForm,
    TileAddForm,
)
from insights.models import DashboardTile
from insights.services import annotations as annotation_services
from insights.services import dashboards as dashboard_services
from insights.services import insights as insight_services
from insights.services import subscriptions as subscription_services
from insights.services.results import dashboard_grid, evaluated_view, insight_result, refused_evaluated
from insights.tasks import dashboard_refresh_queue, subscription_run_send_task
from ops_platform.core.cohorts import segment_filter_allowed
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.periods import relative_range_label
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_params_display
from ops_platform.core.reports import DATE_PARAMETERS, report_kind
from ops_platform.core.roles import Action, Area, Role, can, roles_of
from users.selectors import segment_list


def _flash(request, error: ApplicationError) -> None:
    messages.error(request, error.message)
    for field, errors in error.errors.items():
        for message in errors if isinstance(errors, list) else [errors]:
            messages.error(request, f"{field}: {message}")


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _post(request, call, *, done, failed: str | None = None, success=""):
    """A POST page's one service call: a refusal is flashed and goes back to ``failed`` (default ``done``); else
    the ``success`` message (text, or made from the result) and on to ``done`` (a URL, or made from the result)."""
    try:
        result = call()
    except ApplicationError as error:
        _flash(request, error)
        return redirect(failed or done)
    if success:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(done(result) if callable(done) else done)


def _teams(user):
    return list(goal_selectors.team_list() if Role.ADMIN in roles_of(user) else goal_selectors.teams_of(user=user))


def report_page_url(kind, query: dict) -> str:
    """The report's own page for a query (empty when the report has no page)."""
    if not kind or not kind.page_url_name:
        return ""
    try:
        return f"{reverse(kind.page_url_name)}?{urlencode(query, doseq=True)}"
    except NoReverseMatch:
        return ""


def _parameter_summary(kind, params: dict) -> list[tuple[str, str]]:
    """The insight's parameters besides its range, as the exports page shows a job's: labels and values in the
    reader's language, a segment by its name."""
    return report_params_display(kind.key, {name: values for name, values in params.items()
                                            if name not in DATE_PARAMETERS and any(values)})


# Insights


@role_required(Area.INSIGHTS)
def insight_list(request):
    kind = request.GET.get("kind") or None
    q = (request.GET.get("q") or "")[:200] or None
    insights = list(selectors.insight_list(user=request.user, q=q, kind=kind)[:300])
    kinds = selectors.kinds_for(user=request.user)
    labels = {k.key: k.label for k in kinds}
    for insight in insights:
        insight.kind_label = labels.get(insight.kind, insight.kind)
        insight.range_label = relative_range_label(insight.date_range) if insight.date_range else ""
    return render(request, "insights/list.html", {
        "insights": insights, "kinds": [(k, report_page_url(k, {})) for k in kinds], "kind": kind, "q": q or ""})


def _report_params(query) -> dict[str, list[str]]:
    return {name: values for name, values in query.lists() if name not in {"kind", "insight", "csrfmiddlewaretoken"}}


@role_required(Area.INSIGHTS, Action.CHANGE)
def insight_new(request):
    """Save a report's exact parameters (the report page's query string) as an insight."""
    source = request.POST if request.method == "POST" else request.GET
    kind = report_kind(source.get("kind", ""))
    if kind is None or not can(request.user, kind.area):
        raise Http404(_("No such report."))
    params = {name: values for name, values in _report_params(source).items() if name in kind.parameters}
    visibility, team_id = selectors.insight_sharing_default(user=request.user)
    form = InsightSaveForm(request.POST or None, teams=_teams(request.user), initial={
        "visibility": visibility, "team": team_id, "date_range": "last_30_days" if kind.dated else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            insight = insight_services.insight_create(
                user=request.user, kind=kind.key, params=params, name=data["name"], description=data["description"],
                date_range=data["date_range"] if kind.dated else "", visibility=data["visibility"],
                team_id=data["team"])
        except ApplicationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": insight.name})
            return redirect("insights:detail", insight_id=insight.pk)
    return render(request, "insights/new.html", {
        "form": form, "kind": kind, "params": params, "summary": _parameter_summary(kind, params),
        "back": report_page_url(kind, params)})


def _insight_or_404(request, insight_id: int):
    insight = selectors.insight_get(user=request.user, insight_id=insight_id)
    if insight is None:
        raise Http404(_("No such insight."))
    return insight


@role_required(Area.INSIGHTS)
def insight_detail(request, insight_id: int):
    insight = _insight_or_404(request, insight_id)
    try:
        evaluated = insight_result(user=request.user, insight=insight, refresh=request.GET.get("refresh") == "1")
    except ApplicationError as error:  # restricted to a segment the reader's role may not see: no figures
        evaluated = refused_evaluated(insight=insight, error=error)
    kind = report_kind(insight.kind)
    dashboards = [d for d in selectors.dashboard_list(user=request.user)
                  if selectors.dashboard_can_change(user=request.user, dashboard=d)]
    view = evaluated_view(evaluated)
    return render(request, "insights/detail.html", {
        "insight": insight, "kind": kind, "view": view, "evaluated": evaluated,
        "refused": evaluated.error["message"] if evaluated.extra.get("refused") else "",
        "range_label": relative_range_label(insight.date_range) if insight.date_range else "",
        "summary": _parameter_summary(kind, insight.params), "report_url": report_page_url(kind, evaluated.query),
        "can_change": selectors.insight_can_change(user=request.user, insight=insight),
        "dashboards": dashboards, "on_dashboards": selectors.dashboards_with_insight(insight=insight),
        "tile_displays": DashboardTile.Display.choices,
    })


@role_required(Area.INSIGHTS, Action.CHANGE)
def insight_edit(request, insight_id: int):
    insight = _insight_or_404(request, insight_id)
    kind = report_kind(insight.kind)
    if not selectors.insight_can_change(user=request.user, insight=insight):
        messages.error(request, _("Only its owner or an administrator can change this insight; duplicate it to make "
                                  "your own."))
        return redirect("insights:detail", insight_id=insight.pk)
    teams = _teams(request.user)
    form = InsightSaveForm(request.POST or None, teams=teams, initial={
        "name": insight.name, "description": insight.description, "date_range": insight.date_range,
        "visibility": insight.visibility, "team": insight.team_id})
    editable = [name for name in (kind.parameters if kind else ()) if name not in DATE_PARAMETERS or
                not insight.date_range]
    values = {name: "\n".join(insight.params.get(name, [])) for name in editable}
    errors: dict = {}
    if request.method == "POST":
        values = {name: request.POST.get(f"param_{name}", "") for name in editable}
        if form.is_valid():
            data = form.cleaned_data
            params = {name: [line.strip() for line in value.splitlines() if line.strip()]
                      for name, value in values.items()}
            try:
                insight_services.insight_update(
                    user=request.user, insight=insight, name=data["name"], description=data["description"],
                    params={name: v for name, v in params.items() if v},
                    date_range=data["date_range"] if kind and kind.dated else "", visibility=data["visibility"],
                    team_id=data["team"])
            except ApplicationError as error:
                errors = error.errors
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": insight.name})
                return redirect("insights:detail", insight_id=insight.pk)
    fields = [{"name": name, "value": values.get(name, ""), "errors": errors.get(name, [])} for name in editable]
    return render(request, "insights/edit.html", {"insight": insight, "kind": kind, "form": form, "fields": fields})


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def insight_duplicate_view(request, insight_id: int):
    insight = _insight_or_404(request, insight_id)
    return _post(request, lambda: insight_services.insight_duplicate(user=request.user, insight=insight),
                 done=lambda copy: reverse("insights:detail", args=[copy.pk]),
                 failed=reverse("insights:detail", args=[insight_id]),
                 success=_("Duplicated: this copy is yours and only you see it."))


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def insight_delete_view(request, insight_id: int):
    insight = _insight_or_404(request, insight_id)
    return _post(request, lambda: insight_services.insight_delete(user=request.user, insight=insight),
                 done=reverse("insights:list"), failed=reverse("insights:detail", args=[insight_id]),
                 success=_("Deleted “%(name)s”.") % {"name": insight.name})


# Dashboards


@role_required(Area.INSIGHTS)
def dashboard_list(request):
    return render(request, "insights/dashboards.html", {
        "dashboards": list(selectors.dashboard_list(user=request.user)[:300]),
        "form": DashboardForm(teams=_teams(request.user))})


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_new(request):
    form = DashboardForm(request.POST, teams=_teams(request.user))
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("insights:dashboards")
    try:
        data = form.cleaned_data
        dashboard = dashboard_services.dashboard_create(user=request.user, name=data["name"],
                                                        description=data["description"], team_id=data["team"])
    except ApplicationError as error:
        _flash(request, error)
        return redirect("insights:dashboards")
    return redirect("insights:dashboard", dashboard_id=dashboard.pk)


def _pickable_segments(user, *, limit: int | None = None) -> list | None:
    """The segments ``user`` may restrict a dashboard to; ``None`` without the right to (their names are not listed)."""
    if not segment_filter_allowed(user):
        return None
    return list(segment_list()[:limit])


def _dashboard_or_404(request, dashboard_id: int):
    dashboard = selectors.dashboard_get(user=request.user, dashboard_id=dashboard_id)
    if dashboard is None:
        raise Http404(_("No such dashboard."))
    return dashboard


@role_required(Area.INSIGHTS)
def dashboard_detail(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    context = dashboard_grid(user=request.user, dashboard=dashboard)
    if any(tile["result"] and tile["result"]["stale"] for tile in context["tiles"]):
        dashboard_refresh_queue(dashboard_id=dashboard.pk)  # shown now, fresh in the background
    can_change = selectors.dashboard_can_change(user=request.user, dashboard=dashboard)
    insights = list(selectors.insight_list(user=request.user)[:300]) if can_change else []
    mode = "fixed" if dashboard.date_from else dashboard.date_range
    subscriptions = list(selectors.subscription_list(user=request.user, dashboard_id=dashboard.pk))
    for subscription in subscriptions:
        subscription.weekday_label = dict(WEEKDAYS).get(subscription.weekday, "")
    return render(request, "insights/dashboard.html", {
        **context, "can_change": can_change,
        "can_pin": selectors.dashboard_can_pin(user=request.user, dashboard=dashboard),
        "tile_form": TileAddForm(insights=insights) if insights else None,
        "filters_form": DashboardFiltersForm(segments=_pickable_segments(request.user, limit=200), initial={
            "date_range": mode, "date_from": dashboard.date_from, "date_to": dashboard.date_to,
            "segment": dashboard.segment_id}),
        "annotation_form": AnnotationForm() if can(request.user, Area.ANALYTICS) else None,
        "subscriptions": subscriptions,
    })


@role_required(Area.INSIGHTS, Action.CHANGE)
def dashboard_edit(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    form = DashboardForm(request.POST or None, teams=[], initial={"name": dashboard.name,
                                                                  "description": dashboard.description})
    form.fields.pop("team")
    if request.method == "POST" and form.is_valid():
        try:
            dashboard_services.dashboard_update(user=request.user, dashboard=dashboard, **form.cleaned_data)
        except ApplicationError as error:
            _flash(request, error)
        else:
            return redirect("insights:dashboard", dashboard_id=dashboard.pk)
    return render(request, "insights/dashboard_edit.html", {"dashboard": dashboard, "form": form})


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_filters(request, dashboard_id: int):
    """The dashboard-wide date range and segment, which override the tiles' own."""
    dashboard = _dashboard_or_404(request, dashboard_id)
    form = DashboardFiltersForm(request.POST, segments=_pickable_segments(request.user))
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("insights:dashboard", dashboard_id=dashboard.pk)
    data = form.cleaned_data
    fixed = data["date_range"] == "fixed"
    segment = {"segment_id": data["segment"]} if "segment" in data else {}  # no field: the segment stays as it is
    try:
        dashboard_services.dashboard_update(
            user=request.user, dashboard=dashboard, date_range="" if fixed else data["date_range"],
            date_from=data["date_from"] if fixed else None, date_to=data["date_to"] if fixed else None, **segment)
    except ApplicationError as error:
        _flash(request, error)
    return redirect("insights:dashboard", dashboard_id=dashboard.pk)


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_tile_add(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    form = TileAddForm(request.POST, insights=list(selectors.insight_list(user=request.user)))
    back = request.POST.get("next") or reverse("insights:dashboard", args=[dashboard.pk])
    if not back.startswith("/"):
        back = reverse("insights:dashboard", args=[dashboard.pk])
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(back)
    try:
        tile = dashboard_services.tile_add(user=request.user, dashboard=dashboard,
                                           insight_id=form.cleaned_data["insight"],
                                           display=form.cleaned_data["display"], wide=form.cleaned_data["wide"])
    except ApplicationError as error:
        _flash(request, error)
        return redirect(back)
    messages.success(request, _("Added “%(insight)s” to %(dashboard)s.") % {"insight": tile.insight.name,
                                                                            "dashboard": dashboard.name})
    return redirect(back)


def _tile_or_404(dashboard, tile_id: int) -> DashboardTile:
    tile = dashboard.tiles.select_related("dashboard", "insight").filter(pk=tile_id).first()
    if tile is None:
        raise Http404(_("No such tile."))
    return tile


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_tile_move(request, dashboard_id: int, tile_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    tile = _tile_or_404(dashboard, tile_id)
    offset = -1 if request.POST.get("to") == "up" else 1
    return _post(request, lambda: dashboard_services.tile_move(user=request.user, tile=tile, offset=offset),
                 done=f"{reverse('insights:dashboard', args=[dashboard.pk])}#tile-{tile.pk}")


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_tile_remove(request, dashboard_id: int, tile_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    tile = _tile_or_404(dashboard, tile_id)
    return _post(request, lambda: dashboard_services.tile_remove(user=request.user, tile=tile),
                 done=reverse("insights:dashboard", args=[dashboard.pk]))


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_pin_view(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    pinned = request.POST.get("pinned") == "1"
    return _post(request, lambda: dashboard_services.dashboard_pin(user=request.user, dashboard=dashboard,
                                                                   pinned=pinned),
                 done=reverse("insights:dashboard", args=[dashboard.pk]),
                 success=lambda pinned_dashboard: _("Pinned on the home page of %(team)s.") % {
                     "team": pinned_dashboard.team.name} if pinned
                 else _("Unpinned: the home page shows the platform again."))


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def dashboard_delete_view(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    return _post(request, lambda: dashboard_services.dashboard_delete(user=request.user, dashboard=dashboard),
                 done=reverse("insights:dashboards"), failed=reverse("insights:dashboard", args=[dashboard.pk]),
                 success=_("Deleted the dashboard “%(name)s”.") % {"name": dashboard.name})


@role_required(Area.INSIGHTS)
@require_POST
def dashboard_refresh_view(request, dashboard_id: int):
    dashboard = _dashboard_or_404(request, dashboard_id)
    dashboard_refresh_queue(dashboard_id=dashboard.pk)
    messages.success(request, _("Refreshing every tile in the background; they update when done."))
    return redirect("insights:dashboard", dashboard_id=dashboard.pk)


# Annotations


@role_required(Area.ANALYTICS)
def annotation_list_view(request):
    form = AnnotationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            annotation_services.annotation_create(user=request.user, day=form.cleaned_data["date"],
                                                  text=form.cleaned_data["text"])
        except ApplicationError as error:
            _flash(request, error)
        else:
            messages.success(request, _("Annotation added: it shows on every time chart of that day."))
            back = request.POST.get("next", "")
            return redirect(back if back.startswith("/") else "insights:annotations")
    return render(request, "insights/annotations.html", {
        "form": form, "annotations": list(selectors.annotation_list()[:500]),
        "is_admin": Role.ADMIN in roles_of(request.user)})


@role_required(Area.ANALYTICS)
@require_POST
def annotation_delete_view(request, annotation_id: int):
    annotation = selectors.annotation_get(annotation_id=annotation_id)
    if annotation is None:
        raise Http404(_("No such annotation."))
    return _post(request, lambda: annotation_services.annotation_delete(user=request.user, annotation=annotation),
                 done=reverse("insights:annotations"))


# Subscriptions


@role_required(Area.INSIGHTS, Action.CHANGE)
def subscription_new(request):
    insight_id = _int(request.POST.get("insight") or request.GET.get("insight"))
    dashboard_id = _int(request.POST.get("dashboard") or request.GET.get("dashboard"))
    target = (selectors.insight_get(user=request.user, insight_id=insight_id) if insight_id else
              selectors.dashboard_get(user=request.user, dashboard_id=dashboard_id) if dashboard_id else None)
    if target is None:
        raise Http404(_("No such insight or dashboard."))
    teams = _teams(request.user)
    default_team = getattr(target, "team_id", None) or (teams[0].pk if len(teams) == 1 else None)
    form = SubscriptionForm(request.POST or None, teams=teams, staff=list(selectors.staff_active()[:500]),
                            initial={"frequency": "weekly", "weekday": 0, "time": "08:00", "team": default_team,
                                     "recipients": [request.user.pk]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = subscription_services.subscription_create(
                user=request.user, frequency=data["frequency"], weekday=data["weekday"], at=data["time"],
                insight_id=insight_id or None, dashboard_id=dashboard_id or None, date_range=data["date_range"],
                team_id=data["team"], recipient_ids=data["recipients"])
        except ApplicationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Subscribed: the next e-mail goes out on %(when)s.") % {
                "when": timezone.localtime(subscription.next_run_at).strftime("%Y-%m-%d %H:%M")})
            return redirect("insights:subscription", subscription_id=subscription.pk)
    return render(request, "insights/subscription_form.html", {"form": form, "title": target.name})


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 10**18 else None


def _subscription_or_404(request, subscription_id: int):
    subscription = selectors.subscription_get(user=request.user, subscription_id=subscription_id)
    if subscription is None:
        raise Http404(_("No such subscription."))
    return subscription


@role_required(Area.INSIGHTS)
def subscription_detail(request, subscription_id: int):
    subscription = _subscription_or_404(request, subscription_id)
    return render(request, "insights/subscription_detail.html", {
        "subscription": subscription, "recipients": list(subscription.recipients.all()),
        "runs": list(subscription.runs.all()[:50]), "weekday": dict(WEEKDAYS).get(subscription.weekday, ""),
        "range_label": relative_range_label(subscription.date_range) if subscription.date_range else "",
        "time_zone": settings.TIME_ZONE,
        "can_change": selectors.subscription_can_change(user=request.user, subscription=subscription)})


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def subscription_send_view(request, subscription_id: int):
    subscription = _subscription_or_404(request, subscription_id)
    try:
        run = subscription_services.subscription_send_now(user=request.user, subscription=subscription)
    except ApplicationError as error:
        _flash(request, error)
    else:
        transaction.on_commit(lambda: subscription_run_send_task.delay(run.pk))
        messages.success(request, _("Sending now; each reader gets it once."))
    return redirect("insights:subscription", subscription_id=subscription.pk)


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def subscription_toggle_view(request, subscription_id: int):
    subscription = _subscription_or_404(request, subscription_id)
    return _post(request, lambda: subscription_services.subscription_update(
        user=request.user, subscription=subscription, enabled=not subscription.enabled),
        done=reverse("insights:subscription", args=[subscription.pk]))


@role_required(Area.INSIGHTS, Action.CHANGE)
@require_POST
def subscription_delete_view(request, subscription_id: int):
    subscription = _subscription_or_404(request, subscription_id)
    back = (reverse("insights:dashboard", args=[subscription.dashboard_id]) if subscription.dashboard_id
            else reverse("insights:detail", args=[subscription.insight_id]))
    return _post(request, lambda: subscription_services.subscription_delete(user=request.user,
                                                                            subscription=subscription),
                 done=back, failed=reverse("insights:subscription", args=[subscription.pk]),
                 success=_("Subscription deleted."))
