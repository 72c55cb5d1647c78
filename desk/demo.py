"""The desk's part of ``seed_demo``: the five teams (only those missing, by name — the goals app's demo makes the
same ones), the alerts the night would raise on the demo data, and last week's digest for each team (built, not
e-mailed). Idempotent: alerts are unique per (kind, subject, day), digests per (team, week)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from desk.services.alerts import alerts_compute
from desk.services.digests import digest_build, last_complete_week
from goals import selectors as goal_selectors
from goals.models import Team, TeamMembership
from ops_platform.accounts.models import Staff
from ops_platform.core.roles import Role

DEMO_TEAMS = [  # (name, kind, the demo login leading it)
    ("Merchant operations", Team.Kind.MERCHANT_OPS, Role.MERCHANT_OPS),
    ("User operations", Team.Kind.USER_OPS, Role.USER_OPS),
    ("Product operations", Team.Kind.PRODUCT_OPS, Role.PRODUCT_OPS),
    ("Analysts", Team.Kind.ANALYSTS, Role.ANALYST),
    ("Product managers", Team.Kind.PMS, Role.PM),
]


def demo_teams_ensure() -> int:
    """Create the demo teams that do not exist yet, each led by the demo login of its role; returns how many."""
    existing = set(Team.objects.filter(name__in=[name for name, _, _ in DEMO_TEAMS]).values_list("name", flat=True))
    staff = {s.username: s for s in Staff.objects.filter(username__in=[role.value for *_, role in DEMO_TEAMS])}
    created = 0
    for name, kind, role in DEMO_TEAMS:
        if name in existing:
            continue
        team = Team.objects.create(name=name, kind=kind)
        lead = staff.get(role.value)
        if lead is not None:
            TeamMembership.objects.create(team=team, user=lead, is_lead=True)
        created += 1
    return created


def demo_desk_ensure(*, end: date) -> dict:
    """Teams, alerts as of the day after the demo's last day, and the digest of the last complete week."""
    today = end + timedelta(days=1)
    with transaction.atomic():
        teams = demo_teams_ensure()
    alerts = alerts_compute(day=today)
    week = last_complete_week(today)
    digests = sum(digest_build(team=team, week=week)[1] for team in goal_selectors.team_list())
    return {"teams": teams, "alerts": alerts.created, "digests": digests}
