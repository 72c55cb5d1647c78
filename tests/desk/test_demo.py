"""desk.demo: the teams only when missing (by name, so the goals app's demo and this one merge), the night's alerts
and last week's digests; running it twice adds nothing."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.models import MetricsRun
from desk.demo import DEMO_TEAMS, demo_desk_ensure
from desk.models import Alert, Digest
from goals.models import Team
from ops_platform.core.roles import Role

pytestmark = pytest.mark.django_db
END = date(2026, 11, 24)


def test_the_demo_makes_missing_teams_alerts_and_last_weeks_digests(make_staff):
    for role in Role:
        make_staff(role, username=role.value)
    Team.objects.create(name="Analysts", kind="analysts", description="made by the goals demo")
    MetricsRun.objects.create(date_from=END, date_to=END, status=MetricsRun.Status.FAILED, error="boom")

    first = demo_desk_ensure(end=END)
    second = demo_desk_ensure(end=END)

    assert first == {"teams": 4, "alerts": 1, "digests": 5}
    assert second == {"teams": 0, "alerts": 0, "digests": 0}
    assert sorted(Team.objects.values_list("name", flat=True)) == sorted(name for name, _, _ in DEMO_TEAMS)
    assert Team.objects.get(name="Analysts").memberships.count() == 0  # left as the goals demo made it
    lead = Team.objects.get(name="Merchant operations").memberships.get()
    assert (lead.user.username, lead.is_lead) == ("merchant_ops", True)
    assert set(Digest.objects.values_list("week", flat=True)) == {date(2026, 11, 16)}  # last full week
    assert Alert.objects.get().kind == Alert.Kind.RUN_FAILED
