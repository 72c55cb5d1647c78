"""Who may set which goal: every role, and by position in the team (lead, member, outsider). A refusal is a 403
(API and page) and changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from goals.models import Goal, Metric, TeamMembership
from goals.services.goals import goal_can_edit, goal_create
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.goals.conftest import NOV, make_goal

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _payload(**fields) -> dict:
    return {"title": "Revenue", "level": "team", "period_kind": "month", "period_start": "2026-11-01",
            "metric": "revenue", "target": "5000", **fields}


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_set_company_goals(make_staff, role):
    user = make_staff(role)
    with pytest.raises(ApplicationError) as refused:
        goal_create(user=user, title="Revenue", level=Goal.Level.COMPANY, period_kind="month", period_start=NOV,
                    metric=Metric.REVENUE, target=Decimal("100000"))
    assert refused.value.status_code == 403
    assert not Goal.objects.exists()


def test_an_admin_sets_the_company_goal(make_staff):
    goal = goal_create(user=make_staff(Role.ADMIN), title="Revenue", level=Goal.Level.COMPANY, period_kind="quarter",
                       period_start=date(2026, 10, 1), metric=Metric.REVENUE, target=Decimal("300000"))
    assert (goal.period_end, goal.level) == (date(2026, 12, 31), "company")


@pytest.mark.parametrize(("who", "allowed"), [("lead", True), ("admin", True), ("member", False),
                                              ("outsider", False)])
def test_team_goals_are_set_by_the_teams_lead(team_setup, who, allowed):
    client = _api(team_setup[who])
    response = client.post("/api/v1/goals/", _payload(team=team_setup["team"].pk), format="json")
    assert response.status_code == (201 if allowed else 403), response.json()
    assert Goal.objects.count() == (1 if allowed else 0)


@pytest.mark.parametrize(("who", "owner", "allowed"), [
    ("member", "member", True),  # their own
    ("lead", "member", True),  # the lead sets the personal goals of the people they lead
    ("lead", "lead", True),
    ("admin", "member", True),
    ("member", "lead", False),  # not someone else's
    ("outsider", "member", False),  # a lead of another team
])
def test_personal_goals_are_set_by_their_owner_or_the_teams_lead(team_setup, who, owner, allowed):
    response = _api(team_setup[who]).post("/api/v1/goals/", _payload(
        level="personal", team=team_setup["team"].pk, owner=team_setup[owner].pk, metric="merchants_signed",
        target="5"), format="json")
    assert response.status_code == (201 if allowed else 403), response.json()
    assert Goal.objects.count() == (1 if allowed else 0)


def test_a_member_cannot_set_a_personal_goal_in_a_team_they_are_not_in(team_setup):
    response = _api(team_setup["member"]).post("/api/v1/goals/", _payload(
        level="personal", team=team_setup["other"].pk, owner=team_setup["member"].pk), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"owner": ["The owner is not a member of this team."]}


def test_a_change_is_refused_if_either_the_goal_before_or_after_is_not_yours(team_setup):
    goal = make_goal(metric=Metric.REVENUE, target=100, level=Goal.Level.PERSONAL, team=team_setup["team"],
                     owner=team_setup["member"])
    client = _api(team_setup["member"])

    moved = client.patch(f"/api/v1/goals/{goal.pk}/", {"owner": team_setup["lead"].pk}, format="json")
    promoted = client.patch(f"/api/v1/goals/{goal.pk}/", {"level": "team", "owner": None}, format="json")
    changed = client.patch(f"/api/v1/goals/{goal.pk}/", {"target": "250"}, format="json")

    assert (moved.status_code, promoted.status_code, changed.status_code) == (403, 403, 200)
    goal.refresh_from_db()
    assert (goal.owner_id, goal.level, goal.target) == (team_setup["member"].pk, "personal", Decimal("250"))


def test_outsiders_cannot_change_or_delete_a_teams_goal(team_setup):
    goal = make_goal(metric=Metric.REVENUE, target=100, level=Goal.Level.TEAM, team=team_setup["team"])
    client = _api(team_setup["outsider"])
    assert client.patch(f"/api/v1/goals/{goal.pk}/", {"target": "1"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/goals/{goal.pk}/").status_code == 403
    goal.refresh_from_db()
    assert goal.target == Decimal("100")
    assert _api(team_setup["lead"]).delete(f"/api/v1/goals/{goal.pk}/").status_code == 204
    assert not Goal.objects.exists()


def test_losing_the_lead_takes_the_right_away(team_setup):
    goal = make_goal(metric=Metric.REVENUE, target=100, level=Goal.Level.TEAM, team=team_setup["team"])
    assert goal_can_edit(user=team_setup["lead"], goal=goal)
    TeamMembership.objects.filter(user=team_setup["lead"]).update(is_lead=False)
    assert not goal_can_edit(user=team_setup["lead"], goal=goal)


def test_the_goal_pages_refuse_with_a_403_page_and_change_nothing(team_setup, client):
    goal = make_goal(metric=Metric.REVENUE, target=100, level=Goal.Level.TEAM, team=team_setup["team"])
    client.force_login(team_setup["member"])
    assert client.get(f"/goals/{goal.pk}/edit/").status_code == 403
    assert client.post(f"/goals/{goal.pk}/edit/", {"title": "Mine now", "level": "team", "period_kind": "month",
                                                   "period_start": "2026-11-01", "team": team_setup["team"].pk,
                                                   "metric": "revenue", "target": "1"}).status_code == 403
    response = client.post("/goals/new/", {"title": "Company", "level": "company", "period_kind": "month",
                                           "period_start": "2026-11-01", "metric": "revenue", "target": "1"})
    assert response.status_code == 403
    goal.refresh_from_db()
    assert (goal.title, Goal.objects.count()) == ("revenue goal", 1)


def test_everyone_reads_goals_and_teams(make_staff, team_setup):
    make_goal(metric=Metric.REVENUE, target=100)
    for role in Role:
        client = _api(make_staff(role))
        assert client.get("/api/v1/goals/").status_code == 200
        assert client.get("/api/v1/teams/").status_code == 200


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_arrange_teams(make_staff, team_setup, role):
    client = _api(make_staff(role))
    team = team_setup["team"]
    membership = TeamMembership.objects.get(user=team_setup["member"])
    assert client.post("/api/v1/teams/", {"name": "New"}, format="json").status_code == 403
    assert client.post(f"/api/v1/teams/{team.pk}/members/", {"user": team_setup["outsider"].pk},
                       format="json").status_code == 403
    assert client.patch(f"/api/v1/teams/{team.pk}/members/{membership.pk}/", {"is_lead": True},
                        format="json").status_code == 403
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{membership.pk}/").status_code == 403
    membership.refresh_from_db()
    assert (membership.is_lead, TeamMembership.objects.count()) == (False, 3)


def test_an_admin_arranges_a_team(team_setup):
    client = _api(team_setup["admin"])
    team = team_setup["team"]
    added = client.post(f"/api/v1/teams/{team.pk}/members/", {"user": team_setup["outsider"].pk, "is_lead": True},
                        format="json")
    again = client.post(f"/api/v1/teams/{team.pk}/members/", {"user": team_setup["outsider"].pk}, format="json")
    membership = TeamMembership.objects.get(user=team_setup["member"])
    lead = client.patch(f"/api/v1/teams/{team.pk}/members/{membership.pk}/", {"is_lead": True}, format="json")
    removed = client.delete(f"/api/v1/teams/{team.pk}/members/{added.json()['id']}/")
    assert (added.status_code, again.status_code, lead.status_code, removed.status_code) == (201, 400, 200, 204)
    assert list(team.memberships.order_by("user__username").values_list("user__username", "is_lead")) == [
        ("lead", True), ("member", True)]


def test_admin_pages_add_a_member_and_set_a_lead(team_setup, client):
    client.force_login(team_setup["admin"])
    team = team_setup["team"]
    client.post(f"/goals/teams/{team.pk}/members/", {"user": "outsider"})
    membership = TeamMembership.objects.get(team=team, user=team_setup["outsider"])
    client.post(f"/goals/teams/{team.pk}/members/{membership.pk}/", {"action": "lead"})
    membership.refresh_from_db()
    assert membership.is_lead
    client.force_login(team_setup["lead"])  # a team lead is not an administrator
    assert client.post(f"/goals/teams/{team.pk}/members/{membership.pk}/", {"action": "remove"}).status_code == 403
    assert TeamMembership.objects.filter(pk=membership.pk).exists()
