"""Reads of the products app. Every list declares its joins; tests pin the query counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate
from django.urls import reverse
from django.utils import timezone

from analytics.selectors import tracking_check
from ops_platform.core.roles import Role
from products.models import (
    FeedbackItem,
    ImpactAnalysis,
    Notification,
    Ticket,
    TicketAttachment,
    TicketChange,
    TicketComment,
    TicketTransition,
    TrackingCheck,
    TrackingPlan,
)
from products.services.plans import approved_events_union, local_range

BOARD_STATES = [s for s in Ticket.Status if s not in (Ticket.Status.REJECTED, Ticket.Status.CANCELLED)]



def ticket_owner_candidates() -> QuerySet:
    """Who may own tickets (the owner PM): active staff with the PM role; administrators hold every role."""
    return (get_user_model().objects.filter(is_active=True).filter(Q(groups__name=Role.PM) | Q(is_superuser=True))
            .distinct().order_by("username"))

def ticket_open_count() -> int:
    return Ticket.objects.exclude(status__in=Ticket.CLOSED_STATUSES).count()


def ticket_queryset() -> QuerySet[Ticket]:
    """Tickets with their people: 1 query + 1 for assignees when evaluated."""
    return Ticket.objects.select_related("requester", "owner_pm").prefetch_related("assignees")


def ticket_list(*, status: list[str] | None = None, kind: str | None = None, priority: int | None = None,
                owner_pm: int | None = None, requester: int | None = None, assignee: int | None = None,
                label: str | None = None, stage: str | None = None, q: str | None = None, mine=None,
                open_only: bool = False) -> QuerySet[Ticket]:
    tickets = ticket_queryset()
    if status:
        tickets = tickets.filter(status__in=status)
    if open_only:
        tickets = tickets.exclude(status__in=Ticket.CLOSED_STATUSES)
    if kind:
        tickets = tickets.filter(kind=kind)
    if priority:
        tickets = tickets.filter(priority=priority)
    if owner_pm:
        tickets = tickets.filter(owner_pm_id=owner_pm)
    if requester:
        tickets = tickets.filter(requester_id=requester)
    if assignee:
        tickets = tickets.filter(assignees__id=assignee)
    if stage:
        tickets = tickets.filter(aarrr_stage=stage)
    if label:
        tickets = tickets.filter(labels__icontains=f'"{label}"') if not label.isdigit() else tickets.filter(
            labels__icontains=label)
    if q:
        query = Q(title__icontains=q) | Q(description__icontains=q)
        key = q.upper().removeprefix("REQ-")
        if key.isdigit():
            query |= Q(pk=int(key))
        tickets = tickets.filter(query)
    if mine is not None:
        tickets = tickets.filter(Q(requester=mine) | Q(owner_pm=mine) | Q(assignees=mine) | Q(watchers=mine))
    if assignee or mine is not None:
        tickets = tickets.distinct()
    return tickets.order_by("-priority", "-id")


def ticket_get(*, ticket_id: int) -> Ticket | None:
    return ticket_queryset().prefetch_related("watchers").filter(pk=ticket_id).first()


BOARD_ORDER = (F("priority").desc(), F("id").desc())


def ticket_board(*, per_column: int = 30) -> list[dict]:
    """Columns of the board, one per workflow state (rejected and cancelled left out), each with its first
    ``per_column`` tickets (highest priority, then newest) and its count: one windowed query."""
    rows = list(Ticket.objects.select_related("owner_pm").filter(status__in=BOARD_STATES).annotate(
        position=Window(RowNumber(), partition_by=[F("status")], order_by=list(BOARD_ORDER)),
        in_column=Window(Count("pk"), partition_by=[F("status")]),
    ).filter(position__lte=per_column).order_by("status", "position"))
    by_status: dict[str, list[Ticket]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for ticket in rows:
        by_status[ticket.status].append(ticket)
        counts[ticket.status] = ticket.in_column
    return [{"status": state.value, "label": state.label, "tickets": by_status[state.value],
             "count": counts[state.value]} for state in BOARD_STATES]


def ticket_board_column(*, status: str, offset: int = 0, limit: int = 30) -> dict:
    """One column's page of the board: ``limit`` tickets from ``offset`` and the column's count (2 queries)."""
    tickets = Ticket.objects.select_related("owner_pm").filter(status=status)
    return {"status": status, "label": Ticket.Status(status).label, "count": tickets.count(),
            "tickets": list(tickets.order_by(*BOARD_ORDER)[offset:offset + limit])}


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def ticket_roadmap(*, period: str = "month") -> list[dict]:
    """Tickets that are not rejected or cancelled, by the month (or quarter) of their launch or due date.

    The launch date when launched, else the due date; tickets with neither are left out. Two queries.
    """
    tickets = (ticket_queryset().exclude(status__in=[Ticket.Status.REJECTED, Ticket.Status.CANCELLED])
               .filter(Q(launched_at__isnull=False) | Q(due_date__isnull=False)))
    buckets: dict[str, list] = defaultdict(list)
    for ticket in tickets:
        day = timezone.localdate(ticket.launched_at) if ticket.launched_at else ticket.due_date
        ticket.roadmap_date = day
        buckets[_quarter(day) if period == "quarter" else f"{day:%Y-%m}"].append(ticket)
    return [{"period": key, "tickets": sorted(buckets[key], key=lambda t: (t.roadmap_date, t.pk))}
            for key in sorted(buckets)]


def ticket_history(*, ticket: Ticket) -> list[dict]:
    """Moves, field changes and comments of a ticket, oldest first. Three queries (+1 for comment mentions)."""
    entries = [{"kind": "move", "at": t.created_at, "actor": t.actor, "from": t.from_status, "to": t.to_status,
                "from_label": Ticket.Status(t.from_status).label if t.from_status else "",
                "to_label": Ticket.Status(t.to_status).label, "comment": t.comment}
               for t in TicketTransition.objects.filter(ticket=ticket).select_related("actor")]
    entries += [{"kind": "change", "at": c.created_at, "actor": c.actor, "field": c.field, "before": c.before,
                 "after": c.after} for c in TicketChange.objects.filter(ticket=ticket).select_related("actor")]
    entries += [{"kind": "comment", "at": c.created_at, "actor": c.author, "body": c.body, "id": c.pk}
                for c in TicketComment.objects.filter(ticket=ticket).select_related("author")]
    return sorted(entries, key=lambda e: e["at"])


def ticket_comment_list(*, ticket: Ticket) -> QuerySet[TicketComment]:
    return (TicketComment.objects.filter(ticket=ticket).select_related("author")
            .prefetch_related("mentions").order_by("created_at", "id"))


def ticket_attachment_list(*, ticket: Ticket) -> QuerySet[TicketAttachment]:
    return TicketAttachment.objects.filter(ticket=ticket).select_related("uploaded_by")


def ticket_attachment_get(*, ticket_id: int, attachment_id: int) -> TicketAttachment | None:
    """One attachment of one ticket (None when the attachment belongs to another ticket or does not exist). Who may
    read it is the ticket's rule (Area.TICKETS), checked by the view before this lookup."""
    return TicketAttachment.objects.filter(pk=attachment_id, ticket_id=ticket_id).first()


def ticket_iteration_chain(*, ticket: Ticket, limit: int = 50) -> list[Ticket]:
    """The chain of iterations through this ticket: its ancestors (oldest first), itself, then its descendants.

    One query per generation, bounded by ``limit``.
    """
    ancestors, current = [], ticket
    while current.parent_id and len(ancestors) < limit:
        current = Ticket.objects.only("id", "title", "status", "outcome", "parent_id").get(pk=current.parent_id)
        ancestors.append(current)
    descendants, frontier = [], [ticket.pk]
    while frontier and len(descendants) < limit:
        children = list(Ticket.objects.filter(parent_id__in=frontier).only("id", "title", "status", "outcome",
                                                                          "parent_id").order_by("id"))
        descendants += children
        frontier = [child.pk for child in children]
    return [*reversed(ancestors), ticket, *descendants]


def launches_in_range(*, date_from: date, date_to: date) -> list[dict]:
    """Launch markers for charts: tickets launched on a local day within [date_from, date_to]. One query.

    ``[{"ticket_id", "key", "title", "date": date, "launched_at"}]``, oldest first.
    """
    start, end = local_range(date_from, date_to)
    rows = Ticket.objects.filter(launched_at__gte=start, launched_at__lt=end).order_by("launched_at", "id")
    return [{"ticket_id": t.pk, "key": t.key, "title": t.title, "date": timezone.localdate(t.launched_at),
             "launched_at": t.launched_at} for t in rows.only("id", "title", "launched_at")]


def tickets_concluded_in_range(*, date_from: date, date_to: date) -> list[dict]:
    """Tickets concluded on a local day within [date_from, date_to], with their outcome. One query."""
    start, end = local_range(date_from, date_to)
    rows = Ticket.objects.filter(concluded_at__gte=start, concluded_at__lt=end).order_by("concluded_at", "id")
    return [{"ticket_id": t.pk, "key": t.key, "title": t.title, "outcome": t.outcome,
             "date": timezone.localdate(t.concluded_at)} for t in rows.only("id", "title", "outcome", "concluded_at")]


def tickets_waiting_for(*, user, statuses_by_role: dict[str, list[str]] | None = None) -> QuerySet[Ticket]:
    """Open tickets waiting for ``user``: assigned to them or owned by them as PM, plus the tickets in
    ``statuses_by_role`` (the workflow moves their role makes: triage for PMs, analysis for analysts).
    One query (the reasons are computed on the rows by the caller)."""
    condition = Q(assignees=user) | Q(owner_pm=user)
    for statuses in (statuses_by_role or {}).values():
        condition |= Q(status__in=statuses)
    ids = Ticket.objects.exclude(status__in=Ticket.CLOSED_STATUSES).filter(condition).values("pk")
    return (Ticket.objects.filter(pk__in=ids).select_related("owner_pm")
            .order_by("-priority", "due_date", "id"))


def ticket_assigned_open_count_by_user(*, user_ids: list[int]) -> dict[int, int]:
    """Open tickets assigned to each user (1 grouped query on the assignment table)."""
    through = Ticket.assignees.through
    rows = (through.objects.filter(staff_id__in=user_ids).exclude(ticket__status__in=Ticket.CLOSED_STATUSES)
            .values("staff_id").order_by().annotate(n=Count("pk")))
    return {row["staff_id"]: row["n"] for row in rows}


def plans_in_review() -> QuerySet[TrackingPlan]:
    """Tracking plans submitted for review (the analysts' queue), oldest first. One query."""
    return (TrackingPlan.objects.filter(status=TrackingPlan.Status.IN_REVIEW).select_related("ticket", "author")
            .order_by("created_at", "id"))


def tracking_violations_on_launched() -> list[dict]:
    """The latest tracking check of each launched or analysing ticket that found bad events:
    ``[{"ticket_id", "key", "title", "owner_pm_id", "check_id", "date_from", "date_to", "bad_events", "kinds"}]``.
    Two queries (the tickets' newest check ids, then those checks)."""
    launched = [Ticket.Status.LAUNCHED, Ticket.Status.ANALYSING]
    latest = (TrackingCheck.objects.filter(ticket__status__in=launched).values("ticket_id").order_by()
              .annotate(last=Max("id")))
    checks = TrackingCheck.objects.filter(pk__in=[row["last"] for row in latest]).select_related("ticket")
    result = []
    for check in checks.order_by("ticket_id"):
        violations = (check.result or {}).get("violations") or []
        bad = sum(int(v.get("count") or 0) for v in violations)
        if bad:
            result.append({"ticket_id": check.ticket_id, "key": check.ticket.key, "title": check.ticket.title,
                           "owner_pm_id": check.ticket.owner_pm_id, "check_id": check.pk,
                           "date_from": check.date_from, "date_to": check.date_to, "bad_events": bad,
                           "kinds": len(violations)})
    return result


def plan_list(*, ticket: Ticket) -> QuerySet[TrackingPlan]:
    return TrackingPlan.objects.filter(ticket=ticket).select_related("author", "reviewer").order_by("-version")


def plan_get(*, ticket_id: int, version: int) -> TrackingPlan | None:
    return TrackingPlan.objects.filter(ticket_id=ticket_id, version=version).select_related("ticket").first()


def tracking_check_latest(*, ticket: Ticket) -> TrackingCheck | None:
    return TrackingCheck.objects.filter(ticket=ticket).select_related("plan").first()


def impact_latest(*, ticket: Ticket) -> ImpactAnalysis | None:
    return ImpactAnalysis.objects.filter(ticket=ticket).select_related("analyst").first()


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related("ticket")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def feedback_list(*, triaged: bool | None = None, source: str | None = None, category: str | None = None,
                  ticket_id: int | None = None) -> QuerySet[FeedbackItem]:
    items = FeedbackItem.objects.select_related("ticket", "created_by")
    if triaged is not None:
        items = items.filter(ticket__isnull=not triaged)
    if source:
        items = items.filter(source=source)
    if category:
        items = items.filter(category=category)
    if ticket_id:
        items = items.filter(ticket_id=ticket_id)
    return items


def tracking_health(*, days: int = 7, end_day: date | None = None) -> dict:
    """The last ``days`` days (up to today) against every approved plan: events no plan defines and the worst
    violations. Set-based reads in analytics; a bounded range."""
    end_day = end_day or timezone.localdate()
    date_from = end_day - timedelta(days=days - 1)
    specs, known = approved_events_union()
    start, end = local_range(date_from, end_day)
    result = tracking_check(plan_events=specs, start=start, end=end, known_events=known)
    owners = defaultdict(list)
    plans = (TrackingPlan.objects.filter(status=TrackingPlan.Status.APPROVED).select_related("ticket")
             .order_by("ticket_id", "-version"))
    latest = {}
    for plan in plans:
        latest.setdefault(plan.ticket_id, plan)
    for plan in latest.values():
        for event in plan.events:
            owners[event["name"]].append(plan.ticket)
    for violation in result["violations"]:
        violation["tickets"] = [{"id": t.pk, "key": t.key} for t in owners.get(violation["event"], [])]
    return {"date_from": date_from, "date_to": end_day, "plans": len(latest), **result,
            "violations": result["violations"][:20]}


def ticket_page_prefetch() -> Prefetch:
    return Prefetch("plans", queryset=TrackingPlan.objects.order_by("-version"))


def launch_markers(*, date_from: date, date_to: date) -> list[dict]:
    """Launches as chart markers: ``[{"date", "label", "url"}]`` (see ops_platform/core/chart_markers.py)."""
    return [{"date": launch["date"], "label": f"{launch['key']} {launch['title']}",
             "url": reverse("products:ticket", args=[launch["ticket_id"]])}
            for launch in launches_in_range(date_from=date_from, date_to=date_to)]


# Reads for goals


def tickets_concluded_daily(*, date_from: date, date_to: date, outcome: str = Ticket.Outcome.SUCCESS) -> dict:
    """Tickets concluded with ``outcome`` per local day within [date_from, date_to]. One grouped query."""
    start, end = local_range(date_from, date_to)
    rows = (Ticket.objects.filter(status=Ticket.Status.CONCLUDED, outcome=outcome, concluded_at__gte=start,
                                  concluded_at__lt=end)
            .annotate(day=TruncDate("concluded_at", tzinfo=timezone.get_current_timezone()))
            .values("day").order_by().annotate(count=Count("pk")))
    return {row["day"]: row["count"] for row in rows}


def tickets_concluded_list(*, date_from: date, date_to: date, outcome: str = Ticket.Outcome.SUCCESS,
                           limit: int = 20) -> list[Ticket]:
    start, end = local_range(date_from, date_to)
    return list(Ticket.objects.filter(status=Ticket.Status.CONCLUDED, outcome=outcome, concluded_at__gte=start,
                                      concluded_at__lt=end).order_by("-concluded_at", "-id")[:limit])
