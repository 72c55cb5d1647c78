"""Writes on tracking plans (打點): drafts, review, and the stored checks of events against the approved plan."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.selectors import TRACKING_CHECK_MAX_RANGE_DAYS as MAX_RANGE_DAYS
from analytics.selectors import tracking_check
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import TODAY, DateRange, local_range
from ops_platform.core.roles import Action, Area, can
from products import notification_texts as texts
from products.models import Notification, Ticket, TrackingCheck, TrackingPlan
from products.services.gates import plan_reviewers
from products.services.notifications import notifications_send
from products.services.tickets import ticket_check_open
from products.tracking import plan_events_clean

EDITABLE = (TrackingPlan.Status.DRAFT, TrackingPlan.Status.CHANGES_REQUESTED)


def _ticket(ticket_id: int, *, lock: bool = False) -> Ticket:
    tickets = Ticket.objects.select_for_update() if lock else Ticket.objects
    ticket = tickets.filter(pk=ticket_id).first()
    if ticket is None:
        raise ApplicationError(_("No such ticket."), status_code=404, code="not_found")
    return ticket


def _require(actor, area: Area) -> None:
    if not can(actor, area, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")


@transaction.atomic
def tracking_plan_save(*, ticket_id: int, actor, events) -> TrackingPlan:
    """Save the plan's events: into the open draft, or as a new version once the last one is in review or approved."""
    _require(actor, Area.TRACKING_PLANS)
    cleaned = plan_events_clean(events)
    ticket = _ticket(ticket_id, lock=True)
    ticket_check_open(ticket)
    latest = ticket.plans.order_by("-version").first()
    if latest is not None and latest.status in EDITABLE:
        latest.events, latest.status, latest.author = cleaned, TrackingPlan.Status.DRAFT, actor
        latest.save(update_fields=["events", "status", "author"])
        return latest
    return TrackingPlan.objects.create(ticket=ticket, version=(latest.version + 1) if latest else 1, events=cleaned,
                                       author=actor)


def _plan(ticket_id: int, version: int) -> TrackingPlan:
    plan = TrackingPlan.objects.select_for_update().select_related("ticket").filter(
        ticket_id=ticket_id, version=version).first()
    if plan is None:
        raise ApplicationError(_("No such plan version."), status_code=404, code="not_found")
    return plan


@transaction.atomic
def tracking_plan_submit(*, ticket_id: int, version: int, actor) -> TrackingPlan:
    _require(actor, Area.TRACKING_PLANS)
    plan = _plan(ticket_id, version)
    ticket_check_open(plan.ticket)
    if plan.status not in EDITABLE:
        raise ApplicationError(_("Only a draft can be sent for review."),
                               errors={"status": [plan.get_status_display()]}, code="invalid_move")
    plan.status = TrackingPlan.Status.IN_REVIEW
    plan.save(update_fields=["status"])
    _notify_reviewers(plan, actor)
    return plan


def _notify_reviewers(plan: TrackingPlan, actor) -> None:
    """Whoever reviews plans (analysts, administrators: ``gates.plan_reviewers``) is told, with the ticket's link on
    the notifications page; the desk lists the plan too (desk.selectors.todo_plan_reviews). The ticket's other
    watchers get the plain "ready for review" notice.

    Once per review request: every submit is a new request (after "changes requested" the reviewer must look
    again, even when the PM resubmits unchanged events), but a reviewer who has not yet read the same notice for
    this ticket gets no second copy.
    """
    ticket = plan.ticket
    params = {"v": plan.version, "key": ticket.key, "title": ticket.title}
    reviewers = plan_reviewers()
    unread = set(Notification.objects.filter(ticket=ticket, code=texts.PLAN_REVIEW, params__v=plan.version,
                                             read_at__isnull=True).values_list("recipient_id", flat=True))
    notifications_send(ticket=ticket, recipients=[person for person in reviewers if person.pk not in unread],
                       exclude=actor, code=texts.PLAN_REVIEW, params=params)
    reviewer_ids = {person.pk for person in reviewers}
    notifications_send(ticket=ticket, recipients=ticket.watchers.exclude(pk__in=reviewer_ids), exclude=actor,
                       code=texts.PLAN_READY, params={"v": plan.version, "key": ticket.key})


@transaction.atomic
def tracking_plan_review(*, ticket_id: int, version: int, actor, approve: bool, comment: str = "") -> TrackingPlan:
    _require(actor, Area.PLAN_REVIEW)
    plan = _plan(ticket_id, version)
    ticket_check_open(plan.ticket)
    if plan.status != TrackingPlan.Status.IN_REVIEW:
        raise ApplicationError(_("Only a plan in review can be approved or sent back."),
                               errors={"status": [plan.get_status_display()]}, code="invalid_move")
    if not approve and not comment.strip():
        raise ApplicationError(_("Say what should change."),
                               errors={"comment": [_("Required when requesting changes.")]})
    plan.status = TrackingPlan.Status.APPROVED if approve else TrackingPlan.Status.CHANGES_REQUESTED
    plan.reviewer, plan.review_comment, plan.reviewed_at = actor, comment.strip(), timezone.now()
    plan.save(update_fields=["status", "reviewer", "review_comment", "reviewed_at"])
    notifications_send(ticket=plan.ticket, recipients=[plan.author, *plan.ticket.watchers.all()], exclude=actor,
                       code=texts.PLAN_REVIEWED,
                       params={"v": plan.version, "key": plan.ticket.key, "status": plan.status})
    return plan


def approved_events_union() -> tuple[list[dict], set[str]]:
    """The events of every ticket's latest approved plan: (merged specs, their names).

    An event planned by several tickets gets the union of their properties (the first definition of each wins).
    """
    plans = TrackingPlan.objects.filter(status=TrackingPlan.Status.APPROVED).order_by("ticket_id", "-version")
    latest: dict[int, TrackingPlan] = {}
    for plan in plans.only("ticket_id", "version", "events"):
        latest.setdefault(plan.ticket_id, plan)
    merged: dict[str, dict] = {}
    for plan in latest.values():
        for event in plan.events:
            spec = merged.setdefault(event["name"], {**event, "properties": []})
            known = {prop["name"] for prop in spec["properties"]}
            spec["properties"] += [prop for prop in event.get("properties", []) if prop["name"] not in known]
    return list(merged.values()), set(merged)


# Checks run on the days since the launch, at most the last 30 up to today, and at most MAX_RANGE_DAYS asked for.
CHECK_RANGE = DateRange(default_end=TODAY, default_days=30, max_days=MAX_RANGE_DAYS)


def check_range_clean(date_from: date | None, date_to: date | None, *, since: date | None) -> tuple[date, date]:
    return CHECK_RANGE.resolve_or_refuse(date_from, date_to, earliest=since)


@transaction.atomic
def tracking_check_run(*, ticket_id: int, actor, date_from: date | None = None, date_to: date | None = None
                       ) -> TrackingCheck:
    """Check the range's events (by default since the launch, at most 30 days) against the approved plan; store it."""
    ticket = _ticket(ticket_id)
    plan = ticket.plans.filter(status=TrackingPlan.Status.APPROVED).order_by("-version").first()
    if plan is None:
        raise ApplicationError(_("The ticket has no approved tracking plan to check against."),
                               errors={"plan": [_("Approve a plan first.")]})
    since = timezone.localdate(ticket.launched_at) if ticket.launched_at else None
    date_from, date_to = check_range_clean(date_from, date_to, since=since)
    known = approved_events_union()[1]
    start, end = local_range(date_from, date_to)
    result = tracking_check(plan_events=plan.events, start=start, end=end, known_events=known)
    return TrackingCheck.objects.create(ticket=ticket, plan=plan, date_from=date_from, date_to=date_to, result=result,
                                        checked_by=actor)



def tracking_checks_run_launched() -> list[TrackingCheck]:
    """The nightly run: check every launched or analysing ticket that has an approved plan."""
    ticket_ids = (Ticket.objects.filter(status__in=[Ticket.Status.LAUNCHED, Ticket.Status.ANALYSING],
                                        plans__status=TrackingPlan.Status.APPROVED)
                  .order_by("pk").values_list("pk", flat=True).distinct())
    return [tracking_check_run(ticket_id=ticket_id, actor=None) for ticket_id in ticket_ids]
