"""Pages of the merchants app. Thin: parse a form, call selectors or one service, render or redirect.

Every page needs a login (middleware) and a role (``role_required``, checked before any lookup); ownership
(merchant ops change their own merchants) is enforced by the services, whose refusals come back as messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from merchants import selectors
from merchants.forms import (
    ContactForm,
    ImportForm,
    MerchantEditForm,
    MerchantFilterForm,
    MerchantForm,
    MoveForm,
    ReassignForm,
    TierBulkForm,
)
from merchants.models import LossReason, Merchant, Tier
from merchants.overview import merchant_overview
from merchants.services.imports import merchants_import, merchants_report
from merchants.services.metrics import merchant_rotate_out, merchant_tier_set
from merchants.services.pipeline import (
    STAGE_MOVES,
    merchant_create,
    merchant_move_stage,
    merchant_moves_for,
    merchant_reassign,
    merchant_update,
)
from merchants.services.relationship import contact_log, follow_up_complete
from ops_platform.core import exports
from ops_platform.core.boards import (
    BOARD_PAGE,
    BoardCard,
    BoardColumn,
    BoardColumnForm,
    MoveField,
    board_bad_input,
    board_column_response,
    board_config,
    next_page_url,
)
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_download
from ops_platform.core.roles import Action, Area, can

PAGE_SIZE = 50
TIERS_PAGE_LIMIT = 100  # merchants per list on the tiers page (its download has them all)
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
    params = request.GET.copy()
    page_number = params.pop("page", ["1"])[-1]
    form = MerchantFilterForm(params or None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    # Two queries: the count and the page (a page past the end shows the last one).
    page = Paginator(selectors.merchant_list(**_list_filters(form)), PAGE_SIZE).get_page(page_number)
    return render(request, "merchants/list.html", {
        "form": form, "merchants": list(page.object_list), "page": page,
        "choices": selectors.merchant_filter_choices(), "new_form": MerchantForm(), "import_form": ImportForm(),
        "can_change": can(request.user, Area.MERCHANTS, Action.CHANGE), "query": params.urlencode(),
    }, status=status)


@role_required(Area.MERCHANTS)
def merchant_export(request):
    form = MerchantFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("Bad filters."), status=400, content_type="text/plain; charset=utf-8")
    report = merchants_report(merchants=selectors.merchant_list(**_list_filters(form)))
    return exports.file_response(report, "xlsx" if request.GET.get("format") == "xlsx" else "csv")


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
    messages.success(request, ngettext("%(n)d merchant imported.", "%(n)d merchants imported.", created)
                     % {"n": created})
    return redirect("merchants:list")


def _board_card(user, merchant: Merchant, today) -> BoardCard:
    moves = merchant_moves_for(user=user, merchant=merchant)
    return BoardCard(obj=merchant, id=merchant.pk, testid=f"card-{merchant.code}",
                     label=f"{merchant.code} {merchant.name}",
                     moves=[(stage, Merchant.Stage(stage).label) for stage in moves],
                     classes="stale" if merchant.is_stale else "",
                     overdue=bool(merchant.next_follow_up and merchant.next_follow_up < today))


def _board_column(request, column: dict, *, offset: int, mine: bool) -> BoardColumn:
    today = timezone.localdate()
    shown = offset + len(column["merchants"])
    return BoardColumn(
        key=column["stage"], label=column["label"], count=column["count"],
        cards=[_board_card(request.user, merchant, today) for merchant in column["merchants"]],
        more_url=next_page_url(reverse("merchants:board-column"), column_field="stage", key=column["stage"],
                               offset=shown, count=column["count"], extra="&mine=1" if mine else ""))


@role_required(Area.MERCHANTS)
def board(request):
    """The pipeline as a Kanban board: a card dragged (or moved from its menu) to another stage goes through the
    merchant move API, which calls ``merchant_move_stage`` as the move form does."""
    mine = request.GET.get("mine") == "1"
    columns = selectors.merchant_board(mine=request.user if mine else None, per_column=BOARD_PAGE)
    reasons = [(reason.pk, reason.name) for reason in selectors.loss_reasons()]
    moves = {stage: [(to, Merchant.Stage(to).label) for to in targets] for stage, targets in STAGE_MOVES.items()}
    config = board_config(move_url=reverse("merchant-moves", args=[0]), move_field="to_stage", moves=moves, needs={
        Merchant.Stage.TERMINATED: [MoveField("reason", _("Loss reason"), "select", reasons),
                                    MoveField("note", _("What happened"), "textarea")]})
    return render(request, "merchants/board.html", {
        "columns": [_board_column(request, column, offset=0, mine=mine) for column in columns], "mine": mine,
        "board": config, "card_template": "merchants/_board_card.html"})


@role_required(Area.MERCHANTS)
def board_column(request):
    """A board column's next cards (JSON, the cards rendered): ``?stage=&offset=[&mine=1]``."""
    form = BoardColumnForm(request.GET, columns=Merchant.Stage.choices, column_field="stage")
    if not form.is_valid():
        return board_bad_input(form)
    data = form.cleaned_data
    offset, mine = data["offset"] or 0, data["mine"]
    column = selectors.merchant_board_column(stage=data["column"], offset=offset, limit=BOARD_PAGE,
                                             mine=request.user if mine else None)
    return board_column_response(request, column=_board_column(request, column, offset=offset, mine=mine),
                                 card_template="merchants/_board_card.html")


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
    weeks = context["complete_series"]  # the week so far is in the table, labelled, not in the weekly chart
    chart = {"weeks": [m.period_start.isoformat() for m in weeks], "week_orders": [m.orders for m in weeks],
             "health": [m.health_score for m in weeks], **context["analytics"]["trend"],
             "labels": {"orders": _("Orders"), "gmv": _("GMV"), "health": _("Health score")}}
    context.update({"move_form": move_form, "contact_form": ContactForm(), "reassign_form": ReassignForm(),
                    "can_reassign": can(request.user, Area.MERCHANT_ASSIGN, Action.CHANGE), "chart": chart,
                    "has_reasons": LossReason.objects.filter(active=True).exists()})
    return render(request, "merchants/detail.html", context)


@role_required(Area.MERCHANTS, Action.CHANGE)
def merchant_edit(request, merchant_id: int):
    """The merchant form on an existing merchant (its owner or an administrator): profile and expected GMV."""
    merchant = selectors.merchant_get(merchant_id=merchant_id)
    if merchant is None:
        raise Http404(_("No such merchant."))
    form = MerchantEditForm(request.POST or None, initial={
        name: getattr(merchant, name) for name in MerchantEditForm.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            merchant_update(user=request.user, merchant_id=merchant_id, **form.cleaned_data)
        except ApplicationError as error:
            if error.status_code == 403:
                raise PermissionDenied(error.message) from error
            form_add_errors(form, error)
        else:
            messages.success(request, _("Merchant saved."))
            return _back(merchant_id)
    return render(request, "merchants/form_page.html", {
        "title": _("Edit %(merchant)s") % {"merchant": f"{merchant.code} {merchant.name}"}, "form": form,
        "back_url": reverse("merchants:detail", args=[merchant_id]), "testid": "merchant-edit"},
        status=400 if form.errors else 200)


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
    return follow_up_done_then(request, contact_id, back="merchants:todo")


def follow_up_done_then(request, contact_id: int, *, back: str):
    """Mark a due follow-up done (the contact logged, optionally the next one proposed), then go ``back`` (a URL
    name) with the outcome as a message. Also what the desk's Done button runs."""
    form = ContactForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(back)
    data = form.cleaned_data
    try:
        follow_up_complete(user=request.user, contact_id=contact_id, kind=data["kind"], notes=data["notes"],
                           outcome=data["outcome"], next_follow_up_on=data["follow_up_on"])
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return redirect(back)
    messages.success(request, _("Follow-up done."))
    return redirect(back)


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
    report = selectors.tier_report(limit=TIERS_PAGE_LIMIT)
    distribution = report["distribution"]
    return render(request, "merchants/tiers.html", {
        **report,
        "chart": {"labels": [str(row["label"]) for row in distribution],
                  "counts": [row["count"] for row in distribution], "label": _("Merchants")},
        "week_so_far": selectors.metrics_week_so_far(),
        "can_bulk": can(request.user, Area.MERCHANT_ASSIGN, Action.CHANGE),
        "reasons": LossReason.objects.filter(active=True),
    })


@role_required(Area.MERCHANTS)
def tiers_export(request):
    """The tiers page as a file: every tier's merchants count, the week's movers, candidates, rotate-out (all)."""
    return report_download(request, "tiers")


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
    messages.success(request, ngettext("%(n)d merchant changed.", "%(n)d merchants changed.", changed) % {"n": changed})
    return redirect("merchants:tiers")
