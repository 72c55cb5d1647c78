"""Pages of the products app. Thin: parse a form, call selectors or one service, render or redirect.

Every page needs a login (middleware) and a role (``role_required``, checked before any lookup); finer workflow
rules are enforced by the services, whose refusals come back as messages on the ticket page.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

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
from ops_platform.core.db import ReportTimeout, statement_timeout
from ops_platform.core.downloads import stored_file_response
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.fields import id_from_text
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_download
from ops_platform.core.roles import Action, Area, can, can_edit_ticket, ticket_moves_for
from products import selectors
from products.forms import (
    AttachmentForm,
    CommentForm,
    FeedbackForm,
    ImpactForm,
    IterationForm,
    MoveForm,
    PlanForm,
    PlanReviewForm,
    TicketEditForm,
    TicketFilterForm,
    TicketForm,
    TriageForm,
)
from products.models import Ticket, TrackingPlan
from products.services.feedback import feedback_create, feedback_triage
from products.services.gates import ticket_gates
from products.services.impact import impact_analysis_create, impact_availability, impact_chart
from products.services.notifications import notifications_mark_read
from products.services.plans import EDITABLE as EDITABLE_PLAN_STATES
from products.services.plans import (
    tracking_check_run,
    tracking_plan_review,
    tracking_plan_save,
    tracking_plan_submit,
)
from products.services.tickets import (
    ticket_attachment_add,
    ticket_comment_add,
    ticket_create,
    ticket_iterate,
    ticket_move,
    ticket_update,
    ticket_watch,
)
from products.tracking import plan_diff_describe

PAGE_SIZE = 50


def _ticket_or_404(ticket_id: int) -> Ticket:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket


def _back(ticket_id: int, anchor: str = "") -> HttpResponseRedirect:
    return redirect(reverse("products:ticket", args=[ticket_id]) + (f"#{anchor}" if anchor else ""))


def _refused(request, error: ApplicationError) -> None:
    details = "; ".join(f"{message}" for messages_ in error.errors.values() for message in
                        (messages_ if isinstance(messages_, list) else [messages_]))
    messages.error(request, f"{error.message} {details}".strip())


def _form_errors(request, form) -> None:
    messages.error(request, "; ".join(f"{form.fields[name].label or name}: {' '.join(errors)}" if name in form.fields
                                      else " ".join(errors) for name, errors in form.errors.items()))


# Lists


@role_required(Area.TICKETS)
def ticket_list(request, mine: bool = False):
    form = TicketFilterForm(request.GET or None)
    filters = form.selector_filters() if form.is_bound and form.is_valid() else {}
    status = 400 if form.is_bound and not form.is_valid() else 200
    tickets = selectors.ticket_list(**filters, mine=request.user if mine else None)[:PAGE_SIZE + 1]
    tickets = list(tickets)
    return render(request, "products/ticket_list.html", {
        "form": form, "tickets": tickets[:PAGE_SIZE], "more": len(tickets) > PAGE_SIZE, "mine": mine,
        "unread": selectors.notification_unread_count(user=request.user),
        "can_export_job": can(request.user, Area.ANALYTICS, Action.CHANGE),
    }, status=status)


@role_required(Area.TICKETS)
def my_tickets(request):
    return ticket_list(request, mine=True)


def _board_column(request, column: dict, *, offset: int) -> BoardColumn:
    today = timezone.localdate()
    shown = offset + len(column["tickets"])
    return BoardColumn(
        key=column["status"], label=column["label"], count=column["count"],
        cards=[BoardCard(obj=ticket, id=ticket.pk, testid=f"card-{ticket.key}", label=f"{ticket.key} {ticket.title}",
                         moves=[(state, Ticket.Status(state).label)
                                for state in ticket_moves_for(request.user, ticket.status)],
                         overdue=bool(ticket.due_date and ticket.due_date < today
                                      and ticket.status not in Ticket.CLOSED_STATUSES),
                         classes=f"prio-{ticket.priority}")
               for ticket in column["tickets"]],
        more_url=next_page_url(reverse("products:board-column"), column_field="status", key=column["status"],
                               offset=shown, count=column["count"]))


@role_required(Area.TICKETS)
def tickets_export(request, mine: bool = False):
    """The ticket list with the page's filters as a file (``products/report_files.py``); "my tickets" too."""
    return report_download(request, "tickets", extra={"mine": "1"} if mine else None)


@role_required(Area.TICKETS)
def my_tickets_export(request):
    return tickets_export(request, mine=True)


@role_required(Area.TICKETS)
def board(request):
    """The workflow as a Kanban board: a move goes through the ticket move API, which calls ``ticket_move`` (its role
    rules and gates) as the ticket page's move buttons do; a refused move snaps back with the server's reason."""
    moves = {state.value: [(to, Ticket.Status(to).label) for to in ticket_moves_for(request.user, state.value)]
             for state in selectors.BOARD_STATES}
    config = board_config(move_url=reverse("ticket-move", args=[0]), move_field="to_status", moves=moves, needs={
        Ticket.Status.REJECTED: [MoveField("reason", _("Why is it rejected?"), "textarea")],
        Ticket.Status.CONCLUDED: [MoveField("outcome", _("Outcome"), "select", Ticket.Outcome.choices),
                                  MoveField("analysis_summary", _("Analysis summary"), "textarea")]})
    return render(request, "products/board.html", {
        "columns": [_board_column(request, column, offset=0) for column in selectors.ticket_board(
            per_column=BOARD_PAGE)],
        "board": config, "card_template": "products/_board_card.html"})


@role_required(Area.TICKETS)
def board_column(request):
    """A board column's next cards (JSON, the cards rendered): ``?status=&offset=``."""
    form = BoardColumnForm(request.GET, columns=[(state.value, state.label) for state in selectors.BOARD_STATES],
                           column_field="status")
    if not form.is_valid():
        return board_bad_input(form)
    offset = form.cleaned_data["offset"] or 0
    column = selectors.ticket_board_column(status=form.cleaned_data["column"], offset=offset, limit=BOARD_PAGE)
    return board_column_response(request, column=_board_column(request, column, offset=offset),
                                 card_template="products/_board_card.html")


@role_required(Area.TICKETS)
def roadmap(request):
    period = request.GET.get("period", "month")
    if period not in ("month", "quarter"):
        period = "month"
    return render(request, "products/roadmap.html", {"period": period,
                                                     "buckets": selectors.ticket_roadmap(period=period)})


@role_required(Area.TICKETS, Action.CHANGE)
def ticket_new(request):
    form = TicketForm(request.POST or None, initial={"owner_pm": None})
    if request.method == "POST" and form.is_valid():
        try:
            ticket = ticket_create(requester=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("%(key)s filed.") % {"key": ticket.key})
            return _back(ticket.pk)
    return render(request, "products/ticket_form.html", {"form": form}, status=400 if form.errors else 200)


# The ticket page


@role_required(Area.TICKETS)
def ticket_detail(request, ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    user = request.user
    plans = list(selectors.plan_list(ticket=ticket))
    latest_plan = plans[0] if plans else None
    check = selectors.tracking_check_latest(ticket=ticket)
    impact = selectors.impact_latest(ticket=ticket)
    gates = ticket_gates(ticket=ticket, user=user)
    diff = plan_diff_describe(plans[1].events, plans[0].events) if len(plans) > 1 else None
    chart = impact_chart(impact) if impact else None
    impact_window = impact_availability(launched_at=ticket.launched_at) if ticket.launched_at else None
    return render(request, "products/ticket_detail.html", {
        "ticket": ticket, "gates": gates, "moves": gates.allowed,
        "watching": any(w.pk == user.pk for w in ticket.watchers.all()),
        "plans": plans, "plan": latest_plan, "diff": diff, "check": check, "impact": impact, "chart": chart,
        "impact_window": impact_window,
        "history": selectors.ticket_history(ticket=ticket), "attachments": selectors.ticket_attachment_list(
            ticket=ticket), "chain": selectors.ticket_iteration_chain(ticket=ticket),
        "feedback": selectors.feedback_list(ticket_id=ticket.pk)[:20],
        "can_edit": can_edit_ticket(user, requester_id=ticket.requester_id, owner_pm_id=ticket.owner_pm_id,
                                    status=ticket.status),
        "can_draft": can(user, Area.TRACKING_PLANS, Action.CHANGE),
        "can_review": can(user, Area.PLAN_REVIEW, Action.CHANGE),
        "can_check": can(user, Area.TRACKING_CHECKS, Action.CHANGE),
        "can_impact": can(user, Area.IMPACT, Action.CHANGE),
        "can_iterate": can(user, Area.ITERATIONS, Action.CHANGE) and ticket.status == Ticket.Status.CONCLUDED,
        "plan_editable": latest_plan is None or latest_plan.status in (TrackingPlan.Status.DRAFT,
                                                                       TrackingPlan.Status.CHANGES_REQUESTED),
        "comment_form": CommentForm(), "attachment_form": AttachmentForm(),
        "impact_form": ImpactForm(initial={"metric": ticket.target_metric or None}),
        "iteration_form": IterationForm(), "outcomes": Ticket.Outcome.choices,
    })


@role_required(Area.TICKETS, Action.CHANGE)
def ticket_edit(request, ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    if not can_edit_ticket(request.user, requester_id=ticket.requester_id, owner_pm_id=ticket.owner_pm_id,
                           status=ticket.status):
        raise PermissionDenied(_("Only the ticket's requester, its owner PM or an administrator may change it, and "
                                 "only while it is open."))
    if request.method == "POST":
        form = TicketEditForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version, assignees = data.pop("version"), list(data.pop("assignees"))
            try:
                ticket_update(ticket_id=ticket.pk, actor=request.user, version=version, assignees=assignees, **data)
            except ApplicationError as error:
                if error.status_code == 409:
                    messages.error(request, error.message)
                    return render(request, "products/ticket_form.html", {"form": form, "ticket": ticket,
                                                                         "conflict": True}, status=409)
                form_add_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return _back(ticket.pk)
        return render(request, "products/ticket_form.html", {"form": form, "ticket": ticket}, status=400)
    form = TicketEditForm(initial={**TicketForm.initial_for(ticket), "version": ticket.version})
    return render(request, "products/ticket_form.html", {"form": form, "ticket": ticket})


def _service_post(request, ticket_id: int, anchor: str, call, success: str):
    try:
        call()
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
    else:
        messages.success(request, success)
    return _back(ticket_id, anchor)


@role_required(Area.TICKETS, Action.CHANGE)
@require_POST
def ticket_move_view(request, ticket_id: int):
    form = MoveForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id)
    return _service_post(request, ticket_id, "", lambda: ticket_move(ticket_id=ticket_id, actor=request.user,
                                                                     **form.cleaned_data), _("Moved."))


@role_required(Area.TICKETS, Action.CHANGE)
@require_POST
def ticket_comment_view(request, ticket_id: int):
    form = CommentForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id, "comments")
    return _service_post(request, ticket_id, "history", lambda: ticket_comment_add(
        ticket_id=ticket_id, author=request.user, body=form.cleaned_data["body"]), _("Comment added."))


@role_required(Area.TICKETS, Action.CHANGE)
@require_POST
def ticket_watch_view(request, ticket_id: int):
    watching = request.POST.get("watching") == "1"
    return _service_post(request, ticket_id, "", lambda: ticket_watch(ticket_id=ticket_id, user=request.user,
                                                                      watching=watching),
                         _("You are watching this ticket.") if watching else _("You stopped watching this ticket."))


@role_required(Area.TICKETS, Action.CHANGE)
@require_POST
def ticket_attach_view(request, ticket_id: int):
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id, "attachments")
    return _service_post(request, ticket_id, "attachments", lambda: ticket_attachment_add(
        ticket_id=ticket_id, user=request.user, upload=form.cleaned_data["file"]), _("File attached."))


@role_required(Area.TICKETS)
def ticket_attachment_file(request, ticket_id: int, attachment_id: int):
    """An attachment, for whoever may read its ticket (never a public media URL): images and PDF in the browser,
    everything else downloaded (ops_platform/core/downloads.py)."""
    attachment = selectors.ticket_attachment_get(ticket_id=ticket_id, attachment_id=attachment_id)
    if attachment is None:
        raise Http404(_("No such attachment."))
    return stored_file_response(attachment.file, name=attachment.name, content_type=attachment.content_type)


@role_required(Area.ITERATIONS, Action.CHANGE)
@require_POST
def ticket_iterate_view(request, ticket_id: int):
    form = IterationForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id, "iterations")
    try:
        child = ticket_iterate(ticket_id=ticket_id, actor=request.user, title=form.cleaned_data["title"])
    except ApplicationError as error:
        if error.status_code == 404:
            raise Http404(error.message) from error
        _refused(request, error)
        return _back(ticket_id, "iterations")
    messages.success(request, _("%(key)s started as the next iteration.") % {"key": child.key})
    return _back(child.pk)


# Tracking plan


def _plan_editor_labels() -> dict:
    """The editor's words (static/js/plan-editor.js), translated here and passed with json_script (CSP)."""
    return {
        "event": _("Event"), "event_name": _("Event name"), "description": _("Description"),
        "properties": _("Properties"), "property": _("Property"), "name": _("Name"), "type": _("Type"),
        "required": _("Required"), "allowed": _("Allowed values"), "allowed_hint": _("comma-separated; empty: any"),
        "pattern": _("Pattern (RE2)"), "add_event": _("event"), "add_property": _("property"),
        "remove_event": _("Remove this event"), "remove_property": _("Remove this property"),
        "no_properties": _("No properties yet."), "no_events": _("No events yet: add one."),
        "name_rule": _("Use lower-case letters, digits and underscores, starting with a letter."),
        "duplicate_event": _("This event is already in the plan."),
        "duplicate_property": _("This property is already on the event."),
        "pattern_string_only": _("A pattern applies to string properties only."),
        "not_a_list": _("The JSON is not a list of events; fix it in the JSON view."),
        "bad_json": _("Not valid JSON"), "line": _("line"), "column": _("column"),
        "show_json": _("Edit as JSON (advanced)"), "hide_json": _("Hide the JSON"),
        "types": {"string": _("text value"), "number": _("number"), "integer": _("whole number"),
                  "boolean": _("yes/no")},
    }


@role_required(Area.TRACKING_PLANS, Action.CHANGE)
def plan_edit(request, ticket_id: int):
    """The tracking-plan editor: events and properties as a form (the JSON behind a toggle), the server's messages
    beside the field they name, and the saved draft's changes against the approved version before it is sent."""
    ticket = _ticket_or_404(ticket_id)
    plans = list(selectors.plan_list(ticket=ticket))
    latest = plans[0] if plans else None
    approved = next((plan for plan in plans if plan.status == TrackingPlan.Status.APPROVED), None)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            try:
                plan = tracking_plan_save(ticket_id=ticket.pk, actor=request.user, events=form.cleaned_data["events"])
            except ApplicationError as error:
                if error.status_code == 404:
                    raise Http404(error.message) from error
                form.add_error(None, error.message)
                errors = [f"{field}: {message}" for field, messages_ in error.errors.items()
                          for message in (messages_ if isinstance(messages_, list) else [messages_])]
            else:
                messages.success(request, _("Saved as draft v%(v)s. Check the changes below, then send it for "
                                            "review.") % {"v": plan.version})
                return redirect(reverse("products:plan-edit", args=[ticket.pk]) + "#changes")
        status = 400
    else:
        events = latest.events if latest else [{"name": "", "description": "", "properties": [
            {"name": "", "type": "string", "required": True}]}]
        form = PlanForm(initial={"events": json.dumps(events, ensure_ascii=False, indent=2)})
    draft = latest if latest is not None and latest.status in EDITABLE_PLAN_STATES else None
    changes = plan_diff_describe(approved.events if approved else [], draft.events) if draft else None
    return render(request, "products/plan_form.html", {
        "form": form, "ticket": ticket, "plan": latest, "approved": approved, "draft": draft, "changes": changes,
        "plan_errors": errors, "editor_labels": _plan_editor_labels(),
        "json_invalid": "events" in form.errors,
    }, status=status)


@role_required(Area.TRACKING_PLANS, Action.CHANGE)
@require_POST
def plan_submit(request, ticket_id: int, version: int):
    return _service_post(request, ticket_id, "plan", lambda: tracking_plan_submit(
        ticket_id=ticket_id, version=version, actor=request.user), _("Sent for review."))


@role_required(Area.PLAN_REVIEW, Action.CHANGE)
@require_POST
def plan_review(request, ticket_id: int, version: int):
    form = PlanReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id, "plan")
    approve = form.cleaned_data["decision"] == "approve"
    return _service_post(request, ticket_id, "plan", lambda: tracking_plan_review(
        ticket_id=ticket_id, version=version, actor=request.user, approve=approve,
        comment=form.cleaned_data["comment"]), _("Plan approved.") if approve else _("Changes requested."))


@role_required(Area.TRACKING_CHECKS, Action.CHANGE)
@require_POST
def plan_check(request, ticket_id: int):
    return _service_post(request, ticket_id, "coverage", lambda: tracking_check_run(
        ticket_id=ticket_id, actor=request.user), _("Events checked against the plan."))


@role_required(Area.IMPACT, Action.CHANGE)
@require_POST
def impact_run(request, ticket_id: int):
    form = ImpactForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(ticket_id, "impact")
    return _service_post(request, ticket_id, "impact", lambda: impact_analysis_create(
        ticket_id=ticket_id, actor=request.user, window_days=form.cleaned_data["window_days"],
        metric=form.cleaned_data["metric"] or None, conclusion=form.cleaned_data["conclusion"]),
        _("Impact measured and stored."))


@role_required(Area.TRACKING_CHECKS)
def tracking_health(request):
    try:
        with statement_timeout():
            health = selectors.tracking_health(days=7)
    except ReportTimeout as timeout:
        messages.error(request, timeout.message)
        return render(request, "products/tracking_health.html", {"health": None}, status=503)
    return render(request, "products/tracking_health.html", {"health": health})


# Feedback


def _feedback_page(request, form, *, status: int = 200):
    items = list(selectors.feedback_list()[:200])
    return render(request, "products/feedback.html", {
        "form": form, "items": items, "can_log": can(request.user, Area.FEEDBACK, Action.CHANGE),
        "can_triage": can(request.user, Area.FEEDBACK_TRIAGE, Action.CHANGE)}, status=status)


@role_required(Area.FEEDBACK)
def feedback_list(request):
    form = FeedbackForm()
    if request.method == "POST":
        if not can(request.user, Area.FEEDBACK, Action.CHANGE):
            raise PermissionDenied(_("Your role does not allow this action."))
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                feedback_create(created_by=request.user, **form.cleaned_data)
            except ApplicationError as error:
                _refused(request, error)
            else:
                messages.success(request, _("Feedback logged."))
                return redirect("products:feedback")
    return _feedback_page(request, form, status=400 if form.errors else 200)


@role_required(Area.FEEDBACK_TRIAGE, Action.CHANGE)
@require_POST
def feedback_triage_view(request):
    posted = request.POST.getlist("feedback_ids")
    ids = [id_from_text(i) for i in posted]
    form = TriageForm(request.POST, ids=[i for i in ids if i is not None])
    if None in ids or not form.is_valid():
        if None in ids:
            messages.error(request, _("Feedback ids are whole numbers; these are not: %(bad)s.") % {
                "bad": ", ".join(value[:20] for value, number in zip(posted, ids, strict=True) if number is None)})
        if form.errors:
            _form_errors(request, form)
        return _feedback_page(request, FeedbackForm(), status=400)
    try:
        ticket = feedback_triage(actor=request.user, feedback_ids=form.cleaned_data["feedback_ids"],
                                 ticket_id=form.cleaned_data["ticket"])
    except ApplicationError as error:
        _refused(request, error)
        return redirect("products:feedback")
    messages.success(request, _("%(n)d item(s) attached to %(key)s.") % {
        "n": len(set(form.cleaned_data["feedback_ids"])), "key": ticket.key})
    return redirect("products:feedback")


@role_required(Area.TICKETS)
def notifications(request):
    if request.method == "POST":
        notifications_mark_read(user=request.user)
        return redirect("products:notifications")
    return render(request, "products/notifications.html", {
        "notifications": selectors.notification_list(user=request.user)[:100]})
