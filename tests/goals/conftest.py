"""Goals tests: teams with a lead and a member, goals created straight (the services are tested on their own)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from goals.models import Goal, Team, TeamMembership
from goals.periods import period_end_of
from ops_platform.core.roles import Role

NOV = date(2026, 11, 1)


@pytest.fixture
def team_setup(make_staff):
    """A merchant-ops team with a lead and a member, an outsider in another team, and an admin."""
    team = Team.objects.create(name="Merchant ops", kind=Team.Kind.MERCHANT_OPS)
    other = Team.objects.create(name="User ops", kind=Team.Kind.USER_OPS)
    lead = make_staff(Role.MERCHANT_OPS, username="lead")
    member = make_staff(Role.MERCHANT_OPS, username="member")
    outsider = make_staff(Role.USER_OPS, username="outsider")
    admin = make_staff(Role.ADMIN, username="boss")
    TeamMembership.objects.create(team=team, user=lead, is_lead=True)
    TeamMembership.objects.create(team=team, user=member)
    TeamMembership.objects.create(team=other, user=outsider, is_lead=True)
    return {"team": team, "other": other, "lead": lead, "member": member, "outsider": outsider, "admin": admin}


def make_goal(*, metric: str, target, level: str = Goal.Level.COMPANY, start: date = NOV, kind: str = "month",
              **fields) -> Goal:
    return Goal.objects.create(title=fields.pop("title", f"{metric} goal"), level=level, period_kind=kind,
                               period_start=start, period_end=period_end_of(kind=kind, start=start), metric=metric,
                               target=Decimal(str(target)), **fields)
