"""seed_demo's goals: teams with the demo logins, goals at every level with believable pace, a history; a rerun
stores nothing new."""

from __future__ import annotations

from datetime import date

import pytest

from goals.models import Goal, GoalProgress, Team, TeamMembership
from goals.selectors import goals_for_user
from goals.services.progress import goal_summaries
from ops_platform.accounts.models import Staff
from ops_platform.dashboard.demo import demo_seed

END = date(2026, 3, 20)


@pytest.mark.django_db
def test_seed_demo_gives_teams_goals_at_every_level_and_a_history():
    demo_seed(customers=1500, days=42, seed=3, end=END, merchants=60)

    assert Team.objects.count() == 5
    assert TeamMembership.objects.filter(is_lead=True, user__username="merchant_ops",
                                         team__kind="merchant_ops").exists()
    assert set(Goal.objects.values_list("level", flat=True)) == {"company", "team", "personal"}
    assert set(Goal.objects.values_list("period_kind", flat=True)) == {"month", "quarter"}
    company = Goal.objects.get(title="Company revenue this month")
    assert (company.period_start, company.metric) == (date(2026, 3, 1), "revenue")
    assert Goal.objects.filter(level="team", parent=company).count() >= 4
    summaries = goal_summaries(goals=list(Goal.objects.all()), on=END)
    paces = {row["pace"]: row for row in summaries}
    assert {"ahead", "on_track", "behind"} <= set(paces)
    # the segment is rebuilt after END only: nothing in the period measured, so its goal is not judged yet
    segment = next(row for row in summaries if row["title"] == "Repeat buyers segment")
    assert (segment["pace"], segment["measured_on"], segment["value"]) == ("pending", None, segment["start"])
    history = GoalProgress.objects.filter(goal=company).order_by("date")
    assert history.first().date == date(2026, 3, 1) and history.count() == 31  # through the period's end
    assert [row["title"] for row in goals_for_user(user=Staff.objects.get(username="merchant_ops"), on=END)][:2] == [
        "Company revenue this quarter", "Company revenue this month"]

    counts = (Team.objects.count(), TeamMembership.objects.count(), Goal.objects.count(),
              GoalProgress.objects.count())
    targets = dict(Goal.objects.values_list("title", "target"))
    demo_seed(customers=1500, days=42, seed=3, end=END, merchants=60)
    assert (Team.objects.count(), TeamMembership.objects.count(), Goal.objects.count(),
            GoalProgress.objects.count()) == counts
    assert dict(Goal.objects.values_list("title", "target")) == targets
