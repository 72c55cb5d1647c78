"""Pages of the desk. Thin: parse, check, call one service or selector, render or redirect.

The desk itself is the home page (``dashboard:home`` renders ``desk_for``); here are the actions taken from it and
the team digests.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from desk import selectors
from desk.forms import AlertRuleForm, BuiltinRuleForm
from desk.models import AlertRule
from desk.rendering import metric_label
from desk.services import rules as rule_services
from desk.services.alerts import alert_acknowledge
from desk.services.digests import digest_context, digest_report
from insights import selectors as insight_selectors
from merchants.views import follow_up_done_then
from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area

HOME = "dashboard:home"


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def follow_up_done(request, contact_id: int):
    """Clear a due follow-up from the desk: the merchants page's own action, back to the desk."""
    return follow_up_done_then(request, contact_id, back=HOME)


@role_required(Area.DESK, Action.CHANGE)
@require_POST
def alert_acknowledge_view(request, alert_id: int):
    try:
        alert_acknowledge(user=request.user, alert_id=alert_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, _("Alert acknowledged."))
    return redirect(HOME)


@role_required(Area.DESK)
def digest_list(request):
    digests = list(selectors.digest_list(user=request.user)[:200])
    return render(request, "desk/digest_list.html", {"digests": digests})


def _readable(request, digest_id: int):
    digest = selectors.digest_get(digest_id=digest_id)
    if digest is None:
        raise Http404(_("No such digest."))
    if not selectors.digest_can_read(user=request.user, digest=digest):
        raise PermissionDenied(_("This digest is for its team's members."))
    return digest


@role_required(Area.DESK)
def digest_detail(request, digest_id: int):
    digest = _readable(request, digest_id)
    return render(request, "desk/digest_detail.html", digest_context(digest))


@role_required(Area.DESK)
def digest_download(request, digest_id: int):
    digest = _readable(request, digest_id)
    return exports.xlsx_response(digest_report(digest=digest))


# Alert rules and notifications


@role_required(Area.ALERT_RULES)
def alert_rule_list(request):
    rules = list(selectors.alert_rule_visible_to(user=request.user).order_by("kind", "name", "id")[:300])
    for rule in rules:
        rule.can_change = selectors.alert_rule_can_change(user=request.user, rule=rule)
        rule.metric_label = metric_label(rule.metric) if rule.metric else ""
        rule.is_relative = rule.condition in {AlertRule.Condition.CHANGE, AlertRule.Condition.DROP}
    return render(request, "desk/alert_rules.html", {
        "builtin": [rule for rule in rules if rule.builtin], "mine": [rule for rule in rules if not rule.builtin]})


@role_required(Area.ALERT_RULES, Action.CHANGE)
def alert_rule_new(request):
    source = request.POST if request.method == "POST" else request.GET
    try:
        insight_id = int(source.get("insight", ""))
    except ValueError:
        raise Http404(_("No such insight.")) from None
    insight = insight_selectors.insight_get(user=request.user, insight_id=insight_id) if insight_id < 10**18 else None
    if insight is None:
        raise Http404(_("No such insight."))
    metrics = [(m, metric_label(m)) for m in insight_selectors.alert_metrics(kind=insight.kind)]
    form = AlertRuleForm(request.POST or None, metrics=metrics, initial={"name": insight.name})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rule_services.alert_rule_create(user=request.user, insight_id=insight.pk, metric=data["metric"],
                                            condition=data["condition"], threshold=form.threshold(),
                                            period=data["period"], name=data["name"], email=data["email"])
        except ApplicationError as error:
            for field, errors in error.errors.items():
                form.add_error({"threshold": "value"}.get(field, field) if field in {*form.fields, "threshold"}
                               else None, errors)
            if not error.errors:
                form.add_error(None, error.message)
        else:
            messages.success(request, _("Alert set: it is checked every night after the metrics, on complete "
                                        "periods only."))
            return redirect("desk:alert-rules")
    return render(request, "desk/alert_rule_form.html", {"form": form, "insight": insight})


def _rule_or_404(request, rule_id: int):
    rule = selectors.alert_rule_visible_to(user=request.user).filter(pk=rule_id).first()
    if rule is None:
        raise Http404(_("No such rule."))
    return rule


@role_required(Area.ALERT_RULES, Action.CHANGE)
@require_POST
def alert_rule_update_view(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    form = BuiltinRuleForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("desk:alert-rules")
    changes = {"enabled": form.cleaned_data["enabled"]}
    if rule.builtin and form.cleaned_data["threshold"] is not None:
        changes["threshold"] = form.cleaned_data["threshold"]
    try:
        rule_services.alert_rule_update(user=request.user, rule=rule, **changes)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
    return redirect("desk:alert-rules")


@role_required(Area.ALERT_RULES, Action.CHANGE)
@require_POST
def alert_rule_delete_view(request, rule_id: int):
    rule = _rule_or_404(request, rule_id)
    try:
        rule_services.alert_rule_delete(user=request.user, rule=rule)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("desk:alert-rules")


@role_required(Area.DESK)
def notification_list_view(request):
    notes = list(selectors.notification_list(user=request.user)[:200])
    if request.method == "POST":
        rule_services.notifications_read(user=request.user)
        return redirect("desk:notifications")
    return render(request, "desk/notifications.html", {"notes": notes})
