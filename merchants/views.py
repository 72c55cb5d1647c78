"""Pages of the merchants app. Thin: parse a form, call selectors or one service, render or redirect.

Every page needs a login (middleware) and a role (``role_required``, checked before any lookup); ownership
(merchant ops change their own merchants) is enforced by the services, whose refusals come back as messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from merchants import selectors
from merchants.forms import (
    CampaignForm,
    ContactForm,
    ImportForm,
    InviteRespondForm,
    MerchantFilterForm,
    MerchantForm,
    MoveForm,
    ReassignForm,
    TierBulkForm,
)
from merchants.models import CampaignInvite, Course, LossReason, Merchant, Tier
from merchants.overview import merchant_overview
from merchants.services.campaigns import campaign_create, campaign_invite, campaign_invite_respond, campaign_results
from merchants.services.imports import merchants_export_csv, merchants_export_xlsx, merchants_import
from merchants.services.metrics import merchant_rotate_out, merchant_tier_set
from merchants.services.pipeline import merchant_create, merchant_move_stage, merchant_reassign
from merchants.services.relationship import contact_log, follow_up_complete
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area, can

PAGE_SIZE = 50
MOVE_NEEDS_REASON = (Merchant.Stage.TERMINATED,)


def _refused(request, error: ApplicationError) -> None:
    details = []
    for field, errors in error.errors.items():
        if field == "rows":
            details += [_("row %(row)d: %(errors)s") % {"row": row["row"], "errors": "; ".join(
                f"{name}: {' '.join(msgs)}" for name, msgs in row["errors"].items())} for row in errors[:20]]
        else:
            details += [f"{field}: {' '.join(errors) if isinstance(errors, list) else errors}"]
    messages.error(request, " ".join([error.message, *details]).strip())


def _form_errors(request, form) -> None:
    messages.error(request, "; ".join(f"{form.fields[name].label or name}: {' '.join(errors)}" if name in form.fields
                                      else " ".join(errors) for name, errors in form.errors.items()))


def _list_filters(form) -> dict:
    if not (form.is_bound and form.is_valid()):
        return {}
    data = form.cleaned_data
    return {"q": data["q"] or None, "stage": data["stage"] or None, "tier": data["tier"] or None,
            "city": data["city"] or None, "category": data["category"] or None,
            "owner": data["owner"].pk if data["owner"] else None, "stale": data["stale"]}


# Lists


@role_required(Area.MERCHANTS)
def merchant_list(request):
    form = MerchantFilterForm(request.GET or None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    merchants = list(selectors.merchant_list(**_list_filters(form))[:PAGE_SIZE + 1])
    return render(request, "merchants/list.html", {
        "form": form, "merchants": merchants[:PAGE_SIZE], "more": len(merchants) > PAGE_SIZE,
        "choices": selectors.merchant_filter_choices(), "new_form": MerchantForm(), "import_form": ImportForm(),
        "can_change": can(request.user, Area.MERCHANTS, Action.CHANGE), "query": request.GET.urlencode(),
    }, status=status)


@role_required(Area.MERCHANTS)
def merchant_export(request):
    form = MerchantFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("Bad filters."), status=400, content_type="text/plain; charset=utf-8")
    merchants = selectors.merchant_list(**_list_filters(form))
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(merchants_export_xlsx(merchants=merchants), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = 'attachment; filename="merchants.xlsx"'
        return response
    response = HttpResponse(merchants_export_csv(merchants=merchants), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="merchants.csv"'
    return response


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def merchant_new(request):
    form = MerchantForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("merchants:list")
    try:
        merchant = merchant_create(user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        _refused(request, error)
        return redirect("merchants:list")
    messages.success(request, _("Merchant added."))
    return redirect("merchants:detail", merchant.pk)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def merchant_import(request):
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("merchants:list")
    upload = form.cleaned_data["file"]
    try:
        created = merchants_import(user=request.user, filename=upload.name, data=upload.read(5 * 1024 * 1024 + 1))
    except ApplicationError as error:
        _refused(request, error)
        return redirect("merchants:list")
    messages.success(request, _("%(n)d merchants imported.") % {"n": created})
    return redirect("merchants:list")


@role_required(Area.MERCHANTS)
def board(request):
    mine = request.GET.get("mine") == "1"
    return render(request, "merchants/board.html", {
        "columns": selectors.merchant_board(mine=request.user if mine else None), "mine": mine})


@role_required(Area.MERCHANTS)
def todo(request):
    return render(request, "merchants/todo.html", {
        "due": selectors.follow_ups_due(user=request.user),
        "stale": list(selectors.merchant_stale_for(user=request.user)[:200]),
    })


# One merchant


@role_required(Area.MERCHANTS)
def merchant_detail(request, merchant_id: int):
    merchant = selectors.merchant_get(merchant_id=merchant_id)
    if merchant is None:
        raise Http404(_("No such merchant."))
    context = merchant_overview(merchant=merchant, user=request.user)
    move_form = MoveForm()
    move_form.fields["to_stage"].choices = [(s, Merchant.Stage(s).label) for s in context["allowed_moves"]]
    chart = {"weeks": [m.period_start.isoformat() for m in context["series"]],
             "week_orders": [m.orders for m in context["series"]],
             "health": [m.health_score for m in context["series"]], **context["analytics"]["trend"],
             "labels": {"orders": _("Orders"), "gmv": _("GMV"), "health": _("Health score")}}
    context.update({"move_form": move_form, "contact_form": ContactForm(), "reassign_form": ReassignForm(),
                    "can_reassign": can(request.user, Area.MERCHANT_ASSIGN, Action.CHANGE), "chart": chart,
                    "has_reasons": LossReason.objects.filter(active=True).exists()})
    return render(request, "merchants/detail.html", context)


def _back(merchant_id: int, anchor: str = ""):
    return redirect(reverse("merchants:detail", args=[merchant_id]) + (f"#{anchor}" if anchor else ""))


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def merchant_move(request, merchant_id: int):
    form = MoveForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(merchant_id)
    data = form.cleaned_data
    try:
        merchant_move_stage(user=request.user, merchant_id=merchant_id, to_stage=data["to_stage"],
                            reason=data["reason"], note=data["note"])
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return _back(merchant_id)
    messages.success(request, _("Moved to %(stage)s.") % {"stage": Merchant.Stage(data["to_stage"]).label})
    return redirect(request.POST.get("next") or reverse("merchants:detail", args=[merchant_id]))


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def merchant_contact(request, merchant_id: int):
    form = ContactForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(merchant_id, "log")
    try:
        contact_log(user=request.user, merchant_id=merchant_id, **form.cleaned_data)
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return _back(merchant_id, "log")
    messages.success(request, _("Logged."))
    return _back(merchant_id, "timeline")


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def follow_up_done(request, contact_id: int):
    form = ContactForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("merchants:todo")
    data = form.cleaned_data
    try:
        follow_up_complete(user=request.user, contact_id=contact_id, kind=data["kind"], notes=data["notes"],
                           outcome=data["outcome"], next_follow_up_on=data["follow_up_on"])
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return redirect("merchants:todo")
    messages.success(request, _("Follow-up done."))
    return redirect("merchants:todo")


@role_required(Area.MERCHANT_ASSIGN, Action.CHANGE)
@require_POST
def merchant_reassign_view(request, merchant_id: int):
    form = ReassignForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(merchant_id)
    try:
        merchant_reassign(user=request.user, merchant_ids=[merchant_id], owner=form.cleaned_data["owner"])
    except ApplicationError as error:
        _refused(request, error)
        return _back(merchant_id)
    messages.success(request, _("Reassigned."))
    return _back(merchant_id)


# Tiers


@role_required(Area.MERCHANTS)
def tiers(request):
    rules = selectors.tier_rules_current()
    distribution = selectors.tier_distribution()
    candidates = list(selectors.upgrade_candidates(rules=rules)[:100])
    rotate = list(selectors.rotate_out_list(rules=rules)[:100])
    return render(request, "merchants/tiers.html", {
        "rules": rules, "distribution": distribution,
        "chart": {"labels": [str(row["label"]) for row in distribution],
                  "counts": [row["count"] for row in distribution], "label": _("Merchants")},
        "ups": list(selectors.tier_changes(direction="up")[:30]),
        "downs": list(selectors.tier_changes(direction="down")[:30]),
        "candidates": candidates, "rotate": rotate, "latest_week": selectors.metrics_latest_period(),
        "can_bulk": can(request.user, Area.MERCHANT_ASSIGN, Action.CHANGE),
        "reasons": LossReason.objects.filter(active=True),
    })


@role_required(Area.MERCHANT_ASSIGN, Action.CHANGE)
@require_POST
def tiers_bulk(request):
    ids = [int(i) for i in request.POST.getlist("merchants") if i.isdigit()]
    form = TierBulkForm(request.POST, merchant_ids=ids)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("merchants:tiers")
    data = form.cleaned_data
    try:
        if data["action"] == "promote":
            changed = merchant_tier_set(user=request.user, merchant_ids=data["merchants"], tier=Tier.CORE,
                                        reason=data["reason"])
        else:
            reason = request.POST.get("loss_reason", "")
            changed = merchant_rotate_out(user=request.user, merchant_ids=data["merchants"],
                                          reason_id=int(reason) if reason.isdigit() else 0, note=data["reason"])
    except ApplicationError as error:
        _refused(request, error)
        return redirect("merchants:tiers")
    messages.success(request, _("%(n)d merchants changed.") % {"n": changed})
    return redirect("merchants:tiers")


# Campaigns, training, targets


@role_required(Area.MERCHANTS)
def campaigns(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST":
        if not can(request.user, Area.MERCHANTS, Action.CHANGE):
            raise PermissionDenied(_("Your role does not allow this action."))
        if form.is_valid():
            try:
                campaign = campaign_create(user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                _refused(request, error)
            else:
                messages.success(request, _("Campaign created."))
                return redirect("merchants:campaign", campaign.pk)
        else:
            _form_errors(request, form)
    return render(request, "merchants/campaigns.html", {
        "campaigns": list(selectors.campaign_list()[:100]), "form": form,
        "can_change": can(request.user, Area.MERCHANTS, Action.CHANGE)})


@role_required(Area.MERCHANTS)
def campaign_detail(request, campaign_id: int):
    campaign = selectors.campaign_list().filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404(_("No such campaign."))
    return render(request, "merchants/campaign_detail.html", {
        "campaign": campaign, "invites": list(selectors.campaign_invites(campaign_id=campaign_id)),
        "results": campaign_results(campaign=campaign), "statuses": CampaignInvite.Status,
        "can_change": can(request.user, Area.MERCHANTS, Action.CHANGE)})


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def campaign_invite_view(request, campaign_id: int):
    try:
        invited = campaign_invite(user=request.user, campaign_id=campaign_id)
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return redirect("merchants:campaign", campaign_id)
    messages.success(request, _("%(n)d merchants invited.") % {"n": invited})
    return redirect("merchants:campaign", campaign_id)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def invite_respond(request, invite_id: int):
    form = InviteRespondForm(request.POST)
    if not form.is_valid():
        raise Http404
    try:
        invite = campaign_invite_respond(user=request.user, invite_id=invite_id, status=form.cleaned_data["status"])
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return redirect(request.POST.get("back") or "merchants:campaigns")
    return redirect("merchants:campaign", invite.campaign_id)


@role_required(Area.MERCHANTS)
def training(request):
    return render(request, "merchants/training.html", {
        "courses": list(Course.objects.all()), "sessions": list(selectors.training_session_list()[:100])})


@role_required(Area.MERCHANTS)
def targets(request):
    return render(request, "merchants/targets.html", {"progress": selectors.recruitment_target_progress()})
