"""Reads of the desk: each person's to-do, their alerts, their team's load, the digests they may read.

Everything the desk shows comes from the apps' selectors (goals, merchants, users, products); the desk keeps only
alerts and digests. Each section is one or two queries whatever the data; a section that is not the reader's
work (by role) is not queried at all.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from desk.models import Alert, AlertNotification, AlertRule, Digest
from goals import selectors as goal_selectors
from goals.models import Team
from insights.services.insights import insights_restricted
from merchants import selectors as merchant_selectors
from merchants.models import MerchantContact
from ops_platform.core.roles import Role, roles_of
from products import selectors as product_selectors
from users import selectors as user_selectors

SECTION_LIMIT = 10  # items shown per section; the count is of all
ALERT_DAYS = 14  # unacknowledged alerts older than this drop off the desk
ALERTS_SHOWN = 10  # the most severe and newest on the desk; the API lists them all
SEGMENT_CHANGE = 0.2  # ±20 % against the previous stored size
COUPON_BUDGET_SHARE = 0.9
COUPON_DAYS = 7
# The workflow moves a role makes on tickets that are nobody's yet (see ops_platform.core.roles.TICKET_MOVES).
ROLE_TICKET_STATUSES = {
    Role.PM: {"triage": ["proposed"]},
    Role.ANALYST: {"analyse": ["launched", "analysing"]},
}


def _section(key: str, rows: list, url: str = "") -> dict:
    return {"key": key, "count": len(rows), "items": rows[:SECTION_LIMIT], "url": url}


def _has(roles, *wanted: Role) -> bool:
    return bool(roles & {*wanted, Role.ADMIN})


def todo_follow_ups(*, user, today: date) -> dict:
    due = merchant_selectors.follow_ups_due(user=user, today=today)
    rows = [{"contact_id": c.pk, "merchant_id": c.merchant_id, "label": f"{c.merchant.code} {c.merchant.name}",
             "due": c.follow_up_on, "overdue": c.follow_up_on < today, "kind": c.kind, "notes": c.notes,
             "url": reverse("merchants:detail", args=[c.merchant_id])}
            for c in due["overdue"] + due["today"]]
    return _section("follow_ups", rows, reverse("merchants:todo"))


def todo_stale_merchants(*, user) -> dict:
    rows = [{"merchant_id": m.pk, "label": f"{m.code} {m.name}", "stage": m.get_stage_display(),
             "since": m.stage_changed_at, "url": reverse("merchants:detail", args=[m.pk])}
            for m in merchant_selectors.merchant_stale_for(user=user).order_by("stage_changed_at", "code")[:200]]
    return _section("stale_merchants", rows, reverse("merchants:todo"))


def todo_tickets(*, user, roles) -> dict:
    by_role: dict[str, list[str]] = {}
    for role, reasons in ROLE_TICKET_STATUSES.items():
        if role in roles:
            by_role.update(reasons)
    rows = []
    for ticket in product_selectors.tickets_waiting_for(user=user, statuses_by_role=by_role)[:200]:
        if ticket.owner_pm_id == user.pk:
            reason = "owner"
        else:
            reason = next((name for name, statuses in by_role.items() if ticket.status in statuses), "assigned")
        rows.append({"ticket_id": ticket.pk, "label": f"{ticket.key} {ticket.title}", "status": ticket.status,
                     "status_label": ticket.get_status_display(), "priority": ticket.priority,
                     "due": ticket.due_date, "reason": reason,
                     "url": reverse("products:ticket", args=[ticket.pk])})
    return _section("tickets", rows, reverse("products:my-tickets"))


def todo_plan_reviews() -> dict:
    rows = [{"plan_id": plan.pk, "label": f"{plan.ticket.key} {plan.ticket.title}", "version": plan.version,
             "author": plan.author.get_username() if plan.author else "", "since": plan.created_at,
             "url": reverse("products:ticket", args=[plan.ticket_id])}
            for plan in product_selectors.plans_in_review()[:200]]
    return _section("plan_reviews", rows)


def todo_coupons(*, now) -> dict:
    rows = []
    for campaign in user_selectors.coupon_campaigns_ending(budget_share=COUPON_BUDGET_SHARE, days=COUPON_DAYS)[:200]:
        used = float(campaign.committed / campaign.budget) if campaign.budget else None
        rows.append({"campaign_id": campaign.pk, "label": campaign.name, "used": used,
                     "budget_low": used is not None and used >= COUPON_BUDGET_SHARE,
                     "ends": campaign.valid_to, "ending": campaign.valid_to <= now + timedelta(days=COUPON_DAYS),
                     "url": reverse("users:coupon", args=[campaign.pk])})
    return _section("coupons", rows, reverse("users:coupons"))


def todo_segments(*, user) -> dict:
    rows = [{**change, "label": change["name"], "url": reverse("users:segment", args=[change["segment_id"]])}
            for change in user_selectors.segment_size_changes(created_by=user, threshold=SEGMENT_CHANGE)]
    return _section("segments", rows, reverse("users:segments"))


def todo_for(*, user, today: date | None = None) -> list[dict]:
    """The sections of the user's to-do that belong to their roles, each ``{"key", "count", "items", "url"}``."""
    today = today or timezone.localdate()
    roles = roles_of(user)
    sections = []
    if _has(roles, Role.MERCHANT_OPS):
        sections += [todo_follow_ups(user=user, today=today), todo_stale_merchants(user=user)]
    sections.append(todo_tickets(user=user, roles=roles))
    if _has(roles, Role.ANALYST):
        sections.append(todo_plan_reviews())
    if _has(roles, Role.USER_OPS):
        sections += [todo_coupons(now=timezone.now()), todo_segments(user=user)]
    return sections


# Alerts


def alert_visible_to(*, user) -> QuerySet[Alert]:
    """Alerts whose audience includes ``user`` (their own, their role's, their team kind's); admins see all."""
    if Role.ADMIN in roles_of(user):
        return Alert.objects.select_related("acknowledged_by")
    return alert_addressed_to(user=user)


def alert_addressed_to(*, user) -> QuerySet[Alert]:
    """Alerts addressed to ``user``: to them, to one of their roles or to the kind of one of their teams (an admin's
    right to see every alert left aside — a team digest carries what is addressed to its members)."""
    roles = frozenset() if Role.ADMIN in roles_of(user) else roles_of(user)  # an admin holds every role
    alerts = Alert.objects.select_related("acknowledged_by")
    team_kinds = goal_selectors.teams_of(user=user).values("kind")
    return alerts.filter(Q(audience_user=user) | Q(audience_role__in=[role.value for role in roles])
                         | Q(audience_team_kind__in=team_kinds))


def alert_list(*, user, acknowledged: bool | None = None, kind: str | None = None,
               since: date | None = None) -> QuerySet[Alert]:
    alerts = alert_visible_to(user=user)
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    if kind:
        alerts = alerts.filter(kind=kind)
    if since:
        alerts = alerts.filter(day__gte=since)
    return alerts.order_by("-day", "-id")


def alerts_open_for(*, user, today: date | None = None) -> list[Alert]:
    """The unacknowledged alerts of the last ALERT_DAYS days on the user's desk (1 query), most severe first."""
    today = today or timezone.localdate()
    rank = {Alert.Severity.CRITICAL: 0, Alert.Severity.WARNING: 1, Alert.Severity.INFO: 2}
    alerts = list(alert_list(user=user, acknowledged=False, since=today - timedelta(days=ALERT_DAYS))[:100])
    return sorted(alerts, key=lambda a: (rank.get(a.severity, 3), -a.day.toordinal(), -a.pk))


# Team leads


def team_load(*, user, today: date | None = None) -> list[dict]:
    """The teams ``user`` leads, each with its goals and every member's load: open and overdue follow-ups, open
    tickets assigned, stale merchants. A constant number of queries (teams, members, then one grouped query per
    kind over all members), plus the teams' goals measured together."""
    today = today or timezone.localdate()
    teams = list(goal_selectors.teams_led_by(user=user).prefetch_related("memberships__user"))
    if not teams:
        return []
    ids = sorted({m.user_id for team in teams for m in team.memberships.all()})
    follow_ups = merchant_selectors.follow_up_load_by_owner(owner_ids=ids, today=today)
    stale = merchant_selectors.merchant_stale_count_by_owner(owner_ids=ids)
    tickets = product_selectors.ticket_assigned_open_count_by_user(user_ids=ids)
    goals = goal_selectors.team_goals_by_team(teams=teams, on=today)
    result = []
    for team in teams:
        members = []
        for membership in sorted(team.memberships.all(), key=lambda m: (not m.is_lead, m.user.get_username())):
            load = follow_ups.get(membership.user_id, {})
            members.append({"user": membership.user, "is_lead": membership.is_lead,
                            "open_follow_ups": load.get("open", 0), "overdue": load.get("overdue", 0),
                            "tickets": tickets.get(membership.user_id, 0), "stale": stale.get(membership.user_id, 0)})
        result.append({"team": team, "goals": goals[team.pk], "members": members})
    return result


def desk_for(*, user, today: date | None = None) -> dict:
    """Everything on the user's desk: goals with pace, to-do sections, open alerts, the teams they lead."""
    today = today or timezone.localdate()
    sections = todo_for(user=user, today=today)
    alerts = alerts_open_for(user=user, today=today)
    return {
        "today": today,
        "goals": goal_selectors.goals_for_user(user=user, on=today),
        "sections": sections,
        "todo_total": sum(section["count"] for section in sections),
        "alerts": alerts[:ALERTS_SHOWN],
        "alerts_count": len(alerts),
        "teams": team_load(user=user, today=today),
        "contact_kinds": MerchantContact.Kind.choices,  # for clearing a follow-up on the desk
    }


# Digests


def digest_readable_by(*, user) -> QuerySet[Digest]:
    """Digests of the user's teams; every digest for admins."""
    digests = Digest.objects.select_related("team")
    if Role.ADMIN in roles_of(user):
        return digests
    return digests.filter(team__in=goal_selectors.teams_of(user=user).values("pk"))


def digest_list(*, user, team_id: int | None = None, week: date | None = None) -> QuerySet[Digest]:
    digests = digest_readable_by(user=user)
    if team_id:
        digests = digests.filter(team_id=team_id)
    if week:
        digests = digests.filter(week=week)
    return digests.order_by("-week", "team__name")


def digest_get(*, digest_id: int) -> Digest | None:
    return Digest.objects.select_related("team").filter(pk=digest_id).first()


def digest_can_read(*, user, digest: Digest) -> bool:
    if Role.ADMIN in roles_of(user):
        return True
    return goal_selectors.teams_of(user=user).filter(pk=digest.team_id).exists()


# Alert rules and the notifications of the rules people set


def _is_admin(user) -> bool:
    return Role.ADMIN in roles_of(user)


def alert_rule_visible_to(*, user) -> QuerySet[AlertRule]:
    """The built-in rules (everyone reads them) and the caller's own rules; every rule for administrators."""
    rules = AlertRule.objects.select_related("insight", "owner")
    if _is_admin(user):
        return rules
    return rules.exclude(kind=AlertRule.Kind.INSIGHT) | rules.filter(owner=user)


def alert_rule_can_change(*, user, rule: AlertRule) -> bool:
    return _is_admin(user) or (not rule.builtin and rule.owner_id == user.pk)


def notification_list(*, user, unread: bool | None = None) -> QuerySet[AlertNotification]:
    notes = AlertNotification.objects.filter(recipient=user).select_related("alert")
    if unread is not None:
        notes = notes.filter(read_at__isnull=unread)
    return notes.order_by("-created_at", "-id")




# Which kinds of alert reach which team in its digest (the alert's audience by team kind, or every alert for
# "other" teams and teams whose kind has no alerts of its own).
TEAM_ALERT_KINDS = {
    Team.Kind.MERCHANT_OPS: [Alert.Kind.MERCHANT_AT_RISK, Alert.Kind.RUN_FAILED],
    Team.Kind.USER_OPS: [Alert.Kind.CHANNEL_QUALITY, Alert.Kind.RUN_FAILED],
    Team.Kind.PRODUCT_OPS: [Alert.Kind.TRACKING_VIOLATIONS, Alert.Kind.CHANNEL_QUALITY],
    Team.Kind.ANALYSTS: list(Alert.Kind.values),
    Team.Kind.PMS: [Alert.Kind.TRACKING_VIOLATIONS],
}




def _visible_to_members(team) -> QuerySet[Alert]:
    """Alerts addressed to at least one of the team's members (``alert_addressed_to``, the desk's own audience
    predicate without an admin's right to see everything), so a team's digest never widens an alert's audience — an
    administrator in the team does not bring every alert into it."""
    visible = Alert.objects.none()
    for membership in goal_selectors.team_members(team=team):
        if membership.user.is_active:
            visible = visible | alert_addressed_to(user=membership.user)
    return visible


def team_alerts_in_range(*, team, date_from: date, date_to: date) -> list[dict]:
    """The alerts of the range that reach the team: of its kinds, addressed to its members (200 at most)."""
    kinds = TEAM_ALERT_KINDS.get(team.kind, list(Alert.Kind.values))
    alerts = (_visible_to_members(team).filter(day__gte=date_from, day__lte=date_to)
              .filter(Q(kind__in=kinds) | Q(audience_team_kind=team.kind)).order_by("day", "id")[:200])
    alerts = list(alerts)
    # A rule on an insight restricted to a segment fires for its owner alone: its figures are the insight's, which
    # only readers of customer records get (insight_answer_check), so it stays out of what the team reads.
    restricted = insights_restricted(a.params.get("insight_id") for a in alerts if a.kind == Alert.Kind.INSIGHT_RULE)
    return [{"id": a.pk, "kind": a.kind, "severity": a.severity, "day": a.day, "params": a.params, "link": a.link}
            for a in alerts if not (a.kind == Alert.Kind.INSIGHT_RULE and a.params.get("insight_id") in restricted)]
