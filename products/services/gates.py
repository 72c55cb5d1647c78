"""The workflow's gates, shown before they bite: for a ticket and a person, every move out of its state — allowed or
not, why not (the role, or a gate not met yet), the link that fixes it — and who acts next.

One truth: ``ticket_move`` (products/services/tickets.py) enforces exactly what ``ticket_gates`` shows. Both call
``move_refusal``: the ticket page greys out a move for the reason the move endpoint would answer with, so the two
cannot drift. Other pages (the ticket board) use ``ticket_gates`` the same way.

Gates depend on the ticket's state (its tracking plans, its impact analyses), never on what a form sends; what a
move asks for on the way (a rejection reason, the outcome and summary when concluding) is ``MoveOption.needs``,
checked by ``ticket_move`` on the values sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from ops_platform.core.roles import CLOSED_TICKET_STATES, PERMISSIONS, TICKET_MOVES, Action, Area, Role, roles_of
from products.models import ImpactAnalysis, Ticket, TrackingPlan

# The forward move of each open state (what "who acts next" is about); cancel and reject are side exits.
FORWARD = {
    "proposed": "triaged", "triaged": "designing", "designing": "in_development", "in_development": "testing",
    "testing": "ready_to_launch", "ready_to_launch": "launched", "launched": "analysing", "analysing": "concluded",
}
# What a move asks for on the way (the ticket page shows these fields with the move).
MOVE_NEEDS = {"rejected": "reason", "concluded": "analysis"}


def _role_label(role: str) -> str:
    return {
        Role.MERCHANT_OPS: _("merchant operations"), Role.USER_OPS: _("user operations"),
        Role.PRODUCT_OPS: _("product operations"), Role.PM: _("a PM"), Role.ANALYST: _("an analyst"),
        Role.ADMIN: _("an administrator"),
    }[Role(role)]


@dataclass(frozen=True)
class Refusal:
    """Why a move cannot be made now: ``kind`` is "invalid" (not a next state), "role" or "gate"."""

    kind: str
    message: str
    fix_label: str = ""
    fix_url: str = ""
    # Who can open the gate or make the move, for "who acts next": role values, what they do, and whose names
    # to show ("owner_pm": the ticket's owner PM; "analysts": the analysts, when they are few).
    roles: tuple[str, ...] = ()
    action: str = ""
    people: str = ""

    @property
    def role_labels(self) -> list[str]:
        return [_role_label(role) for role in self.roles]


@dataclass(frozen=True)
class MoveOption:
    to: str
    label: str
    allowed: bool
    needs: str = ""
    refusal: Refusal | None = None

    @property
    def reason(self) -> str:
        return self.refusal.message if self.refusal else ""


@dataclass(frozen=True)
class NextStep:
    """Who acts next on the ticket: role values, their labels, the people where known, and what they do."""

    roles: tuple[str, ...]
    people: tuple = ()
    action: str = ""
    is_you: bool = False

    @property
    def role_labels(self) -> list[str]:
        return [_role_label(role) for role in self.roles]

    @property
    def text(self) -> str:
        if self.is_you:
            return _("Your turn: %(action)s.") % {"action": self.action}
        who = ", ".join(person.get_full_name() or person.get_username() for person in self.people)
        if not who:
            who = _(" or ").join(self.role_labels)
        return _("Waiting for %(who)s to %(action)s.") % {"who": who, "action": self.action}


@dataclass(frozen=True)
class TicketGates:
    moves: list[MoveOption] = field(default_factory=list)
    next: NextStep | None = None
    closed: bool = False

    @property
    def allowed(self) -> list[MoveOption]:
        return [move for move in self.moves if move.allowed]

    @property
    def gated(self) -> list[MoveOption]:
        """Moves the person's role may make but a gate holds back (shown greyed out with the fix)."""
        return [move for move in self.moves if not move.allowed and move.refusal.kind == "gate"]

    @property
    def not_yours(self) -> list[MoveOption]:
        return [move for move in self.moves if not move.allowed and move.refusal.kind == "role"]


def _plans(ticket: Ticket) -> list[TrackingPlan]:
    cached = getattr(ticket, "_gate_plans", None)
    if cached is None:
        cached = list(TrackingPlan.objects.filter(ticket=ticket).order_by("-version").only("version", "status"))
        ticket._gate_plans = cached
    return cached


def _has_impact(ticket: Ticket) -> bool:
    cached = getattr(ticket, "_gate_impact", None)
    if cached is None:
        cached = ImpactAnalysis.objects.filter(ticket=ticket).exists()
        ticket._gate_impact = cached
    return cached


def _plan_gate(ticket: Ticket) -> Refusal | None:
    plans = _plans(ticket)
    if any(plan.status == TrackingPlan.Status.APPROVED for plan in plans):
        return None
    message = _("Ready to launch needs an approved tracking plan (打點) first.")
    editor = reverse("products:plan-edit", args=[ticket.pk])
    latest = plans[0] if plans else None
    drafters = tuple(sorted(role.value for role in _roles_for(Area.TRACKING_PLANS)))
    if latest is None:
        return Refusal("gate", message, _("Draft one"), editor, drafters, _("draft the tracking plan"), "owner_pm")
    if latest.status == TrackingPlan.Status.IN_REVIEW:
        reviewers = tuple(sorted(role.value for role in _roles_for(Area.PLAN_REVIEW)))
        return Refusal("gate", message, _("Plan v%(v)s is in review") % {"v": latest.version},
                       reverse("products:ticket", args=[ticket.pk]) + "#plan", reviewers,
                       _("review tracking plan v%(v)s") % {"v": latest.version}, "analysts")
    return Refusal("gate", message, _("Finish plan v%(v)s and send it for review") % {"v": latest.version}, editor,
                   drafters, _("send tracking plan v%(v)s for review") % {"v": latest.version}, "owner_pm")


def _impact_gate(ticket: Ticket) -> Refusal | None:
    if _has_impact(ticket):
        return None
    measurers = tuple(sorted(role.value for role in _roles_for(Area.IMPACT)))
    return Refusal("gate", _("Concluding needs an impact analysis first."), _("Measure the launch impact"),
                   reverse("products:ticket", args=[ticket.pk]) + "#impact", measurers,
                   _("measure the launch impact"), "analysts")


GATES = {"ready_to_launch": _plan_gate, "concluded": _impact_gate}


def _roles_for(area: Area) -> frozenset[Role]:
    return PERMISSIONS[area][Action.CHANGE]


def move_refusal(*, ticket: Ticket, user, to_status: str) -> Refusal | None:
    """None when ``user`` may move ``ticket`` to ``to_status`` now; else why not (the one rule the page shows and
    ``ticket_move`` enforces). Order: not a next state, then the role, then the gate."""
    from_status = str(ticket.status)
    allowed_roles = TICKET_MOVES.get((from_status, str(to_status)))
    if allowed_roles is None:
        return Refusal("invalid", _("A ticket cannot move from “%(from)s” to “%(to)s”.") % {
            "from": Ticket.Status(from_status).label, "to": dict(Ticket.Status.choices).get(to_status, to_status)})
    if not roles_of(user) & allowed_roles:
        roles = tuple(role.value for role in Role if role in allowed_roles and role != Role.ADMIN)
        people = "owner_pm" if roles == (Role.PM.value,) else "analysts" if roles == (Role.ANALYST.value,) else ""
        return Refusal("role", _("Your role does not allow this move."), roles=roles, people=people)
    gate = GATES.get(str(to_status))
    return gate(ticket) if gate else None


def _people(ticket: Ticket, hint: str) -> tuple:
    """The people known to act: the owner PM for PM work; the analysts for analyst work when there are at most 3."""
    if hint == "owner_pm" and ticket.owner_pm_id and ticket.owner_pm.is_active:
        return (ticket.owner_pm,)
    if hint == "analysts":
        analysts = list(get_user_model().objects.filter(is_active=True, groups__name=Role.ANALYST)
                        .distinct().order_by("username")[:4])
        return tuple(analysts) if len(analysts) <= 3 else ()
    return ()


def _next_step(ticket: Ticket, user) -> NextStep | None:
    """Who acts next: whoever opens the forward move's gate when it is shut, else whoever makes the forward move."""
    forward = FORWARD.get(str(ticket.status))
    if forward is None:
        return None
    gate = GATES.get(forward)
    refusal = (gate(ticket) if gate else None) or move_refusal(ticket=ticket, user=None, to_status=forward)
    if refusal.kind == "gate":
        roles, action = tuple(role for role in refusal.roles if role != Role.ADMIN.value), refusal.action
    else:
        roles, action = refusal.roles, _("move it to “%(to)s”") % {"to": Ticket.Status(forward).label}
    people = _people(ticket, refusal.people)
    mine = bool(roles_of(user) & frozenset(Role(role) for role in roles))
    is_you = mine and (not people or any(person.pk == user.pk for person in people))
    return NextStep(roles=roles, people=people, action=action, is_you=is_you)


def ticket_gates(*, ticket: Ticket, user) -> TicketGates:
    """Every move out of the ticket's state for ``user``: allowed or not, the reason and the fix; and who acts next.

    A few queries whatever the number of moves (the ticket's plans and whether it has an impact analysis, each read
    once; the analysts' names when they are who acts next)."""
    if str(ticket.status) in CLOSED_TICKET_STATES:
        return TicketGates(moves=[], next=None, closed=True)
    moves = []
    for (from_status, to_status) in TICKET_MOVES:
        if from_status != str(ticket.status):
            continue
        refusal = move_refusal(ticket=ticket, user=user, to_status=to_status)
        moves.append(MoveOption(to=to_status, label=str(Ticket.Status(to_status).label), allowed=refusal is None,
                                needs=MOVE_NEEDS.get(to_status, ""), refusal=refusal))
    return TicketGates(moves=moves, next=_next_step(ticket, user))


def can_review_plans_q() -> Q:
    """Who reviews tracking plans: active staff in a group of a role that may review them (analysts, admins)."""
    return Q(is_active=True, groups__name__in=[role.value for role in _roles_for(Area.PLAN_REVIEW)])


def plan_reviewers() -> list:
    return list(get_user_model().objects.filter(can_review_plans_q()).distinct().order_by("username"))
