"""The goals API: validation with field errors (never a 500), filters and pagination, the progress history, the
OpenAPI schema, and pinned query counts on the lists."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from analytics.models import AarrrDaily
from goals.models import Goal, GoalProgress, Metric
from goals.services.progress import goal_progress_record
from tests.goals.conftest import make_goal
from users.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(team_setup) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=team_setup["admin"])
    return client


def _post(client, **fields):
    payload = {"title": "Goal", "level": "company", "period_kind": "month", "period_start": "2026-11-01",
               "metric": "revenue", "target": "1000", **fields}
    return client.post("/api/v1/goals/", payload, format="json")


@pytest.mark.parametrize(("fields", "errors"), [
    ({"period_start": "2026-11-02"}, {"period_start": ["A month starts on its first day."]}),
    ({"period_kind": "quarter", "period_start": "2026-11-01"},
     {"period_start": ["A quarter starts on 1 January, April, July or October."]}),
    ({"metric": "segment_size", "baseline": "10"}, {"segment": ["Choose the segment whose size is the target."]}),
    ({"metric": "merchants_signed", "channel": "wechat"},
     {"channel": ["Only the AARRR metrics can be limited to a channel."]}),
    ({"target": "0"}, {"target": ["The target must be greater than zero."]}),
    ({"baseline": "5"}, {"baseline": ["This metric adds up over the period; it has no baseline."]}),
    ({"level": "team"}, {"team": ["A team goal needs its team."]}),
    ({"period_start": "9999-12-01"}, {"period_start": ["Choose a period between 2000 and 2099."]}),
    ({"period_kind": "quarter", "period_start": "9999-10-01"},
     {"period_start": ["Choose a period between 2000 and 2099."]}),
    ({"period_start": "0001-01-01"}, {"period_start": ["Choose a period between 2000 and 2099."]}),
])
def test_invalid_goals_get_a_400_with_field_errors(admin_api, fields, errors):
    response = _post(admin_api, **fields)
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert not Goal.objects.exists()


def test_malformed_input_is_a_400_not_a_500(admin_api):
    response = _post(admin_api, metric="happiness", target="lots", period_start="soon", team=999999)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"metric", "target", "period_start", "team"}


def test_a_segment_goal_takes_its_baseline_from_the_first_day(admin_api):
    segment = Segment.objects.create(name="Lapsed", rules={})
    segment.sizes.create(date=date(2026, 10, 28), size=42, build_seconds=1)
    response = _post(admin_api, metric="segment_size", segment=segment.pk, target="100")
    assert response.status_code == 201, response.json()
    assert (response.json()["baseline"], response.json()["kind"]) == (42.0, "level")


def test_the_parent_must_be_one_level_up_within_its_period(admin_api, team_setup):
    company = make_goal(metric=Metric.REVENUE, target=100, kind="quarter", start=date(2026, 10, 1))
    december = make_goal(metric=Metric.REVENUE, target=100, start=date(2026, 12, 1))
    team = team_setup["team"].pk

    assert _post(admin_api, level="team", team=team, parent=company.pk).status_code == 201
    assert _post(admin_api, level="team", team=team, parent=december.pk).json()["errors"] == {
        "parent": ["The goal's period must lie within its parent's period."]}
    team_goal = Goal.objects.get(level="team")
    assert _post(admin_api, level="personal", team=team, owner=team_setup["member"].pk,
                 parent=company.pk).json()["errors"] == {"parent": ["A personal goal sits under a goal of its team."]}
    assert _post(admin_api, level="personal", team=team, owner=team_setup["member"].pk,
                 parent=team_goal.pk).status_code == 201


def test_the_list_filters_and_paginates(admin_api, team_setup):
    company = make_goal(metric=Metric.REVENUE, target=100)
    make_goal(metric=Metric.REVENUE, target=100, level=Goal.Level.TEAM, team=team_setup["team"])
    mine = make_goal(metric=Metric.MERCHANTS_SIGNED, target=3, level=Goal.Level.PERSONAL, team=team_setup["team"],
                     owner=team_setup["member"])
    make_goal(metric=Metric.REVENUE, target=100, start=date(2026, 12, 1))

    def ids(query):
        return [row["id"] for row in admin_api.get(f"/api/v1/goals/?{query}").json()["results"]]

    assert ids("level=company&period_start=2026-11-01") == [company.pk]
    assert ids(f"owner={team_setup['member'].pk}") == [mine.pk]
    assert len(ids(f"team={team_setup['team'].pk}")) == 2
    assert len(ids("on=2026-11-15")) == 3
    page = admin_api.get("/api/v1/goals/?page_size=2").json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (4, 2, True)
    assert admin_api.get("/api/v1/goals/?level=everyone").status_code == 400


def test_the_goal_list_query_count_does_not_grow_with_the_goals(admin_api, django_assert_num_queries):
    AarrrDaily.objects.create(date=date(2026, 11, 1), channel="wechat", revenue=Decimal("10"), acquisition=2)
    for n in range(12):
        make_goal(metric=Metric.REVENUE if n % 2 else Metric.ACQUISITION, target=100 + n)
    admin_api.get("/api/v1/goals/")  # the staff's roles are read once per user object
    # count, page of goals, AARRR rows
    with django_assert_num_queries(3):
        response = admin_api.get("/api/v1/goals/")
    assert response.json()["count"] == 12


def test_the_progress_history(admin_api):
    AarrrDaily.objects.create(date=date(2026, 11, 1), channel="wechat", revenue=Decimal("10"))
    goal = make_goal(metric=Metric.REVENUE, target=300)
    goal_progress_record(on=date(2026, 11, 3), backfill=True)
    response = admin_api.get(f"/api/v1/goals/{goal.pk}/progress/")
    assert response.json() == [{"date": f"2026-11-0{d}", "value": 10.0, "expected": 10.0 * d} for d in (1, 2, 3)]
    assert admin_api.get("/api/v1/goals/999999/progress/").status_code == 404
    assert GoalProgress.objects.count() == 3


def test_teams_list_their_members_and_leads(admin_api, team_setup, django_assert_num_queries):
    admin_api.get("/api/v1/teams/")
    with django_assert_num_queries(4):  # count, teams, memberships, their users
        rows = admin_api.get("/api/v1/teams/").json()["results"]
    team = next(row for row in rows if row["name"] == "Merchant ops")
    assert [(m["username"], m["is_lead"]) for m in team["members"]] == [("lead", True), ("member", False)]


def test_the_schema_documents_the_goal_endpoints(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    for path in ("/api/v1/goals/", "/api/v1/goals/{goal_id}/", "/api/v1/goals/{goal_id}/progress/",
                 "/api/v1/teams/", "/api/v1/teams/{team_id}/members/"):
        assert path in schema["paths"], path
    assert "GoalInput" in str(schema["components"]["schemas"])


def test_a_title_change_keeps_the_history_and_a_new_target_remeasures_it(admin_api):
    AarrrDaily.objects.create(date=date(2026, 11, 1), channel="wechat", revenue=Decimal("10"))
    goal = make_goal(metric=Metric.REVENUE, target=300)
    goal_progress_record(on=date(2026, 11, 3), backfill=True)

    assert admin_api.patch(f"/api/v1/goals/{goal.pk}/", {"title": "Renamed"}, format="json").status_code == 200
    assert list(GoalProgress.objects.values_list("date", "expected").order_by("date")) == [
        (date(2026, 11, d), 10.0 * d) for d in (1, 2, 3)]

    assert admin_api.patch(f"/api/v1/goals/{goal.pk}/", {"target": "600"}, format="json").status_code == 200
    assert list(GoalProgress.objects.filter(date__lte=date(2026, 11, 3)).values_list("expected", flat=True)
                .order_by("date")) == [20.0, 40.0, 60.0]


def test_a_rate_goal_takes_its_baseline_from_the_month_before_and_answers_its_start(admin_api):
    for day in range(1, 32):  # October: 30 sign-ups per 120 new customers = 25 %
        AarrrDaily.objects.create(date=date(2026, 10, day), channel="wechat", activation=30, acquisition=120)
    AarrrDaily.objects.create(date=date(2026, 11, 2), channel="wechat", activation=10, acquisition=20)

    response = _post(admin_api, metric="activation_rate", target="35")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["unit"], body["baseline"], body["start"]) == ("rate", "percent", 25.0, 25.0)
    assert body["value"] == 50.0 and body["measured_on"] == "2026-11-24"


def test_a_rate_goal_out_of_range_is_a_400_with_field_errors(admin_api):
    response = _post(admin_api, metric="repeat_rate", target="150", baseline="20")

    assert response.status_code == 400
    assert response.json()["errors"] == {"target": ["A rate is a percentage between 0 and 100."]}
