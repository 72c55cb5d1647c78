"""The one place that says what each staff role may see and change.

Pages (``role_required``) and the API (``RolePermission``) both ask ``can()``; nothing else decides.
This module imports no app.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MERCHANT_OPS = "merchant_ops"
    USER_OPS = "user_ops"
    PRODUCT_OPS = "product_ops"
    PM = "pm"
    ANALYST = "analyst"
    ADMIN = "admin"


class Area(StrEnum):
    DASHBOARD = "dashboard"
    ANALYTICS = "analytics"
    METRICS_RUNS = "metrics_runs"
    INGEST_KEYS = "ingest_keys"
    EVENT_NAMES = "event_names"
    MERCHANTS = "merchants"
    MERCHANT_ASSIGN = "merchant_assign"
    CUSTOMERS = "customers"
    CUSTOMER_RECORDS = "customer_records"
    TICKETS = "tickets"
    TRACKING_PLANS = "tracking_plans"
    PLAN_REVIEW = "plan_review"
    TRACKING_CHECKS = "tracking_checks"
    IMPACT = "impact"
    ITERATIONS = "iterations"
    FEEDBACK = "feedback"
    FEEDBACK_TRIAGE = "feedback_triage"
    GOALS = "goals"
    TEAMS = "teams"
    DESK = "desk"
    INSIGHTS = "insights"
    ALERT_RULES = "alert_rules"
    ADMIN_SITE = "admin_site"


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"


ALL_ROLES = frozenset(Role)

# area -> action -> roles allowed
PERMISSIONS: dict[Area, dict[Action, frozenset[Role]]] = {
    Area.DASHBOARD: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset()},
    # Funnels, retention, AARRR: everyone reads; running computations is for analysts and admins.
    Area.ANALYTICS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    Area.METRICS_RUNS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    # Ingest keys: analysts and ops read the list (names, prefixes, last use; never a secret), only
    # administrators create and revoke keys.
    Area.INGEST_KEYS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ADMIN})},
    # Canonical names (SDK event and property names mapped onto the metrics' events): administrators only.
    Area.EVENT_NAMES: {Action.VIEW: frozenset({Role.ADMIN}), Action.CHANGE: frozenset({Role.ADMIN})},
    # Merchant ops manage merchants; everyone else reads.
    Area.MERCHANTS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.MERCHANT_OPS, Role.ADMIN})},
    # Reassigning a merchant to another operator is for the lead (admin); everyone reads who owns what.
    Area.MERCHANT_ASSIGN: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ADMIN})},
    # User ops manage customers, segments and coupons; everyone else reads.
    Area.CUSTOMERS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.USER_OPS, Role.ADMIN})},
    # Single customers (lists, the customer page, member exports): user ops and analysts read, user ops manage;
    # other roles see the summaries (Area.CUSTOMERS) only. Whatever can single out one customer is a record too, so
    # it needs this area: the raw events export (every customer's events), and live segment previews (a preview of
    # "distinct_id eq X and spend ≥ N" answers 0 or 1, which reads X's spend in a few tries; we chose to guard the
    # preview rather than refuse single-customer rules, because segments of named customers are legitimate for
    # the roles that build segments, and those roles all read records).
    Area.CUSTOMER_RECORDS: {Action.VIEW: frozenset({Role.USER_OPS, Role.ANALYST, Role.ADMIN}),
                            Action.CHANGE: frozenset({Role.USER_OPS, Role.ADMIN})},
    # Every role can raise and discuss requirement tickets; workflow moves are finer-grained.
    Area.TICKETS: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    # Tracking plans (打點): PMs draft them and send them for review; analysts review (approve / request changes);
    # both may check the incoming events against an approved plan.
    Area.TRACKING_PLANS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.PM, Role.ADMIN})},
    Area.PLAN_REVIEW: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    Area.TRACKING_CHECKS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.PM, Role.ANALYST, Role.ADMIN})},
    # Launch impact: analysts measure and conclude; everyone reads.
    Area.IMPACT: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    # Starting the optimisation of a concluded ticket (the next iteration): product ops and PMs.
    Area.ITERATIONS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.PRODUCT_OPS, Role.PM, Role.ADMIN})},
    # Customer and merchant feedback: operations and PMs log it; product ops and PMs triage it into tickets.
    Area.FEEDBACK: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset(
        {Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.PM, Role.ADMIN})},
    Area.FEEDBACK_TRIAGE: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.PRODUCT_OPS, Role.PM, Role.ADMIN})},
    # Goals: everyone reads and sets goals; which goal a person may set (company: admins; team: the team's leads;
    # personal: the member) is decided per goal by goals.services.goal_can_edit.
    Area.GOALS: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    # Teams and their members: everyone reads; administrators arrange them.
    Area.TEAMS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ADMIN})},
    # The daily desk, alerts and team digests: everyone has a desk and acknowledges their alerts; which alert
    # (its audience) and which digest (its team's members) a person sees is decided in desk.selectors.
    Area.DESK: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    # Saved insights, dashboards and subscriptions: everyone saves their own and shares them; who may read one is
    # decided per insight (its visibility and the areas of its report, insights.selectors), who may change it too
    # (its owner, a team dashboard's members, admins).
    Area.INSIGHTS: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    # Alert rules: everyone sets their own on the insights they read; the built-in rules (channel drop, merchants at
    # risk, tracking violations, failed runs) are changed or switched off by administrators (desk.services.rules).
    Area.ALERT_RULES: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    Area.ADMIN_SITE: {Action.VIEW: frozenset({Role.ADMIN}), Action.CHANGE: frozenset({Role.ADMIN})},
}

# The requirement workflow (products.Ticket.status values): (from, to) -> roles who may make the move.
# Operations propose (anyone may file a ticket), PMs triage, design and launch, analysts conclude.
_PM = frozenset({Role.PM, Role.ADMIN})
_ANALYSTS = frozenset({Role.ANALYST, Role.ADMIN})
_OPEN_TICKET_STATES = ("proposed", "triaged", "designing", "in_development", "testing", "ready_to_launch",
                       "launched", "analysing")
TICKET_MOVES: dict[tuple[str, str], frozenset[Role]] = {
    ("proposed", "triaged"): _PM,
    ("proposed", "rejected"): _PM,
    ("triaged", "designing"): _PM,
    ("designing", "in_development"): _PM,
    ("in_development", "testing"): _PM,
    ("testing", "in_development"): _PM,
    ("testing", "ready_to_launch"): _PM,
    ("ready_to_launch", "launched"): _PM,
    ("launched", "analysing"): _ANALYSTS | _PM,
    ("analysing", "concluded"): _ANALYSTS,
    **{(state, "cancelled"): _PM for state in _OPEN_TICKET_STATES},
}


# A closed ticket is frozen: its fields, attachments, tracking plans and impact analyses no longer change; people
# may still comment on it (and watch it, and start its next iteration, which is a new ticket).
CLOSED_TICKET_STATES = frozenset({"concluded", "rejected", "cancelled"})


def roles_of(user) -> frozenset[Role]:
    """The roles of a staff user (a superuser holds every role). Cached on the user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_ops_roles", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = ALL_ROLES
    else:
        names = set(user.groups.values_list("name", flat=True))
        roles = frozenset(role for role in Role if role.value in names)
    user._ops_roles = roles
    return roles


def can(user, area: Area | str, action: Action | str = Action.VIEW) -> bool:
    allowed = PERMISSIONS[Area(area)][Action(action)]
    return bool(roles_of(user) & allowed)


def can_move_ticket(user, from_status: str, to_status: str) -> bool:
    """May ``user`` move a requirement ticket from one state to another? Unknown moves: nobody."""
    allowed = TICKET_MOVES.get((str(from_status), str(to_status)), frozenset())
    return bool(roles_of(user) & allowed)


def ticket_moves_for(user, from_status: str) -> list[str]:
    """The states ``user`` may move a ticket in ``from_status`` to, in workflow order."""
    roles = roles_of(user)
    return [to for (frm, to), allowed in TICKET_MOVES.items() if frm == str(from_status) and roles & allowed]


def can_edit_ticket(user, *, requester_id: int | None, owner_pm_id: int | None, status: str) -> bool:
    """May ``user`` change a requirement ticket's fields and attachments?

    Its requester, its owner PM or an administrator; while it has no owner PM, any PM (triage takes it on). Nobody
    once it is closed (``CLOSED_TICKET_STATES``): comments stay open to every role that may discuss tickets.
    """
    roles = roles_of(user)
    if str(status) in CLOSED_TICKET_STATES or not roles & PERMISSIONS[Area.TICKETS][Action.CHANGE]:
        return False
    if Role.ADMIN in roles:
        return True
    if user.pk in (requester_id, owner_pm_id):
        return True
    return owner_pm_id is None and Role.PM in roles


def can_own_tickets(user) -> bool:
    """May ``user`` be a ticket's owner PM? Active staff holding the PM role (administrators hold every role)."""
    return Role.PM in roles_of(user)
