"""Gates shown before they bite (products/services/gates.py): every move with allowed or not, the reason and the
fix; who acts next; and the one truth — ``ticket_move`` refuses exactly what ``ticket_gates`` greys out."""

from __future__ import annotations

import pytest
from django.db import transaction

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import TICKET_MOVES, Role
from products.models import ImpactAnalysis, Ticket
from products.services.gates import move_refusal, ticket_gates
from products.services.plans import tracking_plan_save, tracking_plan_submit
from products.services.tickets import ticket_create, ticket_move
from tests.products.conftest import PLAN_EVENTS, approve_plan

pytestmark = pytest.mark.django_db

OPEN_STATES = ["proposed", "triaged", "designing", "in_development", "testing", "ready_to_launch", "launched",
               "analysing"]


def _at(ticket: Ticket, status: str) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    return Ticket.objects.select_related("owner_pm").get(pk=ticket.pk)


def _plan(ticket, people, state: str) -> None:
    if state == "none":
        return
    if state == "approved":
        approve_plan(ticket, people)
        return
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    if state == "in_review":
        tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])


def _impact(ticket, people) -> None:
    ImpactAnalysis.objects.create(ticket=ticket, metric="signup_rate", window_days=7, before_from="2026-11-01",
                                  before_to="2026-11-07", after_from="2026-11-08", after_to="2026-11-14",
                                  analyst=people["analyst"])


# status, tracking plan, impact analysis, role, move -> None (allowed) or (kind, fix label, fix url ending)
CASES = [
    ("proposed", "none", False, "pm", "triaged", None),
    ("proposed", "none", False, "pm", "rejected", None),
    ("proposed", "none", False, "user_ops", "triaged", ("role", "", "")),
    ("proposed", "none", False, "analyst", "cancelled", ("role", "", "")),
    ("proposed", "none", False, "pm", "launched", ("invalid", "", "")),
    ("triaged", "none", False, "pm", "designing", None),
    ("designing", "none", False, "product_ops", "in_development", ("role", "", "")),
    ("in_development", "none", False, "pm", "testing", None),
    ("testing", "none", False, "pm", "in_development", None),
    ("testing", "none", False, "pm", "ready_to_launch", ("gate", "Draft one", "/plan/")),
    ("testing", "draft", False, "pm", "ready_to_launch",
     ("gate", "Finish plan v1 and send it for review", "/plan/")),
    ("testing", "in_review", False, "pm", "ready_to_launch", ("gate", "Plan v1 is in review", "/#plan")),
    ("testing", "in_review", False, "admin", "ready_to_launch", ("gate", "Plan v1 is in review", "/#plan")),
    ("testing", "approved", False, "pm", "ready_to_launch", None),
    ("testing", "approved", False, "analyst", "ready_to_launch", ("role", "", "")),
    ("ready_to_launch", "approved", False, "pm", "launched", None),
    ("ready_to_launch", "approved", False, "merchant_ops", "launched", ("role", "", "")),
    ("launched", "approved", False, "analyst", "analysing", None),
    ("launched", "approved", False, "pm", "analysing", None),
    ("launched", "approved", False, "user_ops", "analysing", ("role", "", "")),
    ("analysing", "approved", False, "analyst", "concluded", ("gate", "Measure the launch impact", "/#impact")),
    ("analysing", "approved", True, "analyst", "concluded", None),
    ("analysing", "approved", True, "pm", "concluded", ("role", "", "")),
    ("analysing", "approved", False, "admin", "concluded", ("gate", "Measure the launch impact", "/#impact")),
]


@pytest.mark.parametrize(("status", "plan", "impact", "role", "to", "expected"), CASES)
def test_each_gate_and_role(people, ticket, status, plan, impact, role, to, expected):
    _plan(ticket, people, plan)
    if impact:
        _impact(ticket, people)
    ticket = _at(ticket, status)

    refusal = move_refusal(ticket=ticket, user=people[role], to_status=to)

    if expected is None:
        assert refusal is None
        assert to in [move.to for move in ticket_gates(ticket=ticket, user=people[role]).allowed]
        return
    kind, fix_label, fix_url = expected
    assert (refusal.kind, refusal.fix_label) == (kind, fix_label)
    assert refusal.fix_url.endswith(f"/products/tickets/{ticket.pk}{fix_url}") if fix_url else not refusal.fix_url
    if kind == "gate":
        shown = {move.to: move for move in ticket_gates(ticket=ticket, user=people[role]).gated}
        assert shown[to].reason == refusal.message
        assert shown[to].refusal.fix_url == refusal.fix_url


def test_every_move_lists_allowed_or_its_reason(people, ticket):
    ticket = _at(ticket, "testing")

    gates = ticket_gates(ticket=ticket, user=people["pm"])

    assert [(m.to, m.allowed, m.refusal.kind if m.refusal else "") for m in gates.moves] == [
        ("in_development", True, ""), ("ready_to_launch", False, "gate"), ("cancelled", True, "")]
    assert [m.to for m in ticket_gates(ticket=ticket, user=people["user_ops"]).not_yours] == [
        "in_development", "ready_to_launch", "cancelled"]
    assert ticket_gates(ticket=ticket, user=people["user_ops"]).not_yours[0].refusal.role_labels == ["a PM"]


@pytest.mark.parametrize("status", ["concluded", "rejected", "cancelled"])
def test_a_closed_ticket_has_no_moves_and_nobody_next(people, ticket, status):
    gates = ticket_gates(ticket=_at(ticket, status), user=people["admin"])

    assert (gates.moves, gates.next, gates.closed) == ([], None, True)


def test_the_move_endpoint_enforces_exactly_what_is_shown(people, ticket):
    """One truth: for every open state × role × move (with and without the gates open), ``ticket_move`` succeeds
    exactly when ``ticket_gates`` shows the move allowed, and refuses for the reason shown."""
    checked = 0
    for gates_open in (False, True):
        if gates_open:
            approve_plan(ticket, people)
            _impact(ticket, people)
        for status in OPEN_STATES:
            for role in Role:
                fresh = _at(ticket, status)
                shown = {move.to: move for move in ticket_gates(ticket=fresh, user=people[role.value]).moves}
                assert set(shown) == {to for (frm, to) in TICKET_MOVES if frm == status}
                for to, move in shown.items():
                    try:
                        with transaction.atomic():
                            ticket_move(ticket_id=ticket.pk, actor=people[role.value], to_status=to,
                                        reason="no budget", outcome="success", analysis_summary="it worked")
                            transaction.set_rollback(True)
                    except ApplicationError as error:
                        assert not move.allowed, (status, role, to, error.message)
                        assert error.status_code == (403 if move.refusal.kind == "role" else 400)
                        if move.refusal.kind == "gate":
                            assert error.errors["to_status"] == [move.reason]
                    else:
                        assert move.allowed, (status, role, to)
                    checked += 1
    assert checked == 2 * len(Role) * sum(1 for (frm, _to) in TICKET_MOVES if frm in OPEN_STATES)
    assert Ticket.objects.get(pk=ticket.pk).transitions.count() == 1  # every move was rolled back


# Who acts next, in every state, for whoever looks.
NEXT = [
    ("proposed", "none", False, "user_ops", "Waiting for pm to move it to “triaged”.", False),
    ("proposed", "none", False, "pm", "Your turn: move it to “triaged”.", True),
    ("designing", "none", False, "analyst", "Waiting for pm to move it to “in development”.", False),
    ("testing", "none", False, "user_ops", "Waiting for pm to draft the tracking plan.", False),
    ("testing", "draft", False, "analyst", "Waiting for pm to send tracking plan v1 for review.", False),
    ("testing", "in_review", False, "pm", "Waiting for analyst to review tracking plan v1.", False),
    ("testing", "in_review", False, "analyst", "Your turn: review tracking plan v1.", True),
    ("testing", "approved", False, "analyst", "Waiting for pm to move it to “ready to launch”.", False),
    ("launched", "approved", False, "user_ops", "Waiting for a PM or an analyst to move it to “analysing”.", False),
    ("analysing", "approved", False, "pm", "Waiting for analyst to measure the launch impact.", False),
    ("analysing", "approved", True, "analyst", "Your turn: move it to “concluded”.", True),
]


@pytest.mark.parametrize(("status", "plan", "impact", "role", "text", "is_you"), NEXT)
def test_who_acts_next(people, ticket, status, plan, impact, role, text, is_you):
    _plan(ticket, people, plan)
    if impact:
        _impact(ticket, people)

    step = ticket_gates(ticket=_at(ticket, status), user=people[role]).next

    assert (step.text, step.is_you) == (text, is_you)


def test_who_acts_next_names_the_role_when_nobody_owns_it(people):
    ticket = ticket_create(requester=people["user_ops"], title="No owner yet")

    step = ticket_gates(ticket=ticket, user=people["user_ops"]).next

    assert (step.roles, step.people, step.text) == (("pm",), (), "Waiting for a PM to move it to “triaged”.")


@pytest.mark.parametrize("status", OPEN_STATES)
def test_gates_cost_a_few_queries_whatever_the_moves(people, ticket, status, django_assert_max_num_queries):
    _plan(ticket, people, "in_review")
    ticket = _at(ticket, status)  # owner PM loaded with it, as the ticket page's selector does

    with django_assert_max_num_queries(4):  # roles, plans, impact analyses, analysts' names
        ticket_gates(ticket=ticket, user=people["pm"])
