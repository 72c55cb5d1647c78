"""Fixtures for the product-operations tests: a staff member per role and a ticket filed through the service."""

from __future__ import annotations

import pytest

from ops_platform.core.roles import Role
from products.services.plans import tracking_plan_review, tracking_plan_save, tracking_plan_submit
from products.services.tickets import ticket_create

PLAN_EVENTS = [
    {"name": "coupon_shown", "description": "The new-user coupon pack is shown.",
     "properties": [{"name": "pack", "type": "string", "required": True, "allowed": ["small", "large"]},
                    {"name": "amount", "type": "number", "required": True},
                    {"name": "page", "type": "string", "required": False, "pattern": "[a-z_]+"}]},
    {"name": "coupon_claimed", "description": "", "properties": [{"name": "pack", "type": "string",
                                                                   "required": True}]},
]


@pytest.fixture
def people(make_staff):
    """One staff member per role, keyed by role value (``people["pm"]``)."""
    return {role.value: make_staff(role, username=role.value, email=f"{role.value}@example.com") for role in Role}


@pytest.fixture
def ticket(people):
    return ticket_create(requester=people["user_ops"], title="New-user coupon pack", description="**Grow** sign-ups",
                         owner_pm=people["pm"], aarrr_stage="activation", target_metric="signup_rate",
                         expected_change="+2 points")


def approve_plan(ticket, people, events=None):
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=events or PLAN_EVENTS)
    tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])
    return tracking_plan_review(ticket_id=ticket.pk, version=plan.version, actor=people["analyst"], approve=True)
