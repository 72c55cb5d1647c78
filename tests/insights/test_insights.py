"""Saved insights: the result equals the live report for the same parameters, relative ranges resolve in TIME_ZONE
at read time, who may read and change one, and bad input."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from insights.models import Insight, InsightResult
from insights.services.insights import insight_create
from ops_platform.core.periods import relative_range
from ops_platform.core.roles import Role
from tests.factories import without_clock

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 25)  # the pinned Wednesday


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


# Relative ranges


@pytest.mark.parametrize(("spec", "expected"), [
    ("last_1_days", (date(2026, 11, 24), date(2026, 11, 24))),
    ("last_30_days", (date(2026, 10, 26), date(2026, 11, 24))),
    ("last_8_weeks", (date(2026, 9, 28), date(2026, 11, 22))),  # 8 complete Monday–Sunday weeks
    ("last_3_months", (date(2026, 8, 1), date(2026, 10, 31))),
    ("this_week", (date(2026, 11, 23), date(2026, 11, 25))),
    ("this_month", (date(2026, 11, 1), date(2026, 11, 25))),
])
def test_relative_ranges_resolve_to_complete_periods_in_the_time_zone(spec, expected):
    assert relative_range(spec, today=TODAY) == expected


@pytest.mark.now(datetime(2026, 11, 23, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")))  # Monday 00:30; Sunday in UTC
def test_a_relative_range_is_cut_in_the_local_time_zone_not_utc():
    assert relative_range("last_1_weeks") == (date(2026, 11, 16), date(2026, 11, 22))


def test_unknown_range_words_are_refused():
    with pytest.raises(ValueError):
        relative_range("last_0_days")


# The result is the live report


FUNNEL = {"steps": ["visit", "signup", "order_paid"], "window_days": ["7"], "breakdown": ["channel"]}


@pytest.mark.parametrize(("kind", "params", "api"), [
    ("funnel", FUNNEL, "/api/v1/analytics/funnel/"),
    ("retention", {"cohort_event": ["visit"], "return_event": ["order_paid"], "period": ["day"], "periods": ["4"]},
     "/api/v1/analytics/retention/"),
    ("golden_time", {"event": ["visit"]}, "/api/v1/analytics/golden-time/"),
    ("aarrr", {"channel": ["wechat"]}, "/api/v1/analytics/aarrr/overview/"),
    ("channel_quality", {}, "/api/v1/users/channels/quality/"),
    ("trends", {"event": ["visit"], "breakdown": ["channel"], "interval": ["week"]}, "/api/v1/analytics/trends/"),
    ("stickiness", {"event": ["visit"]}, "/api/v1/analytics/stickiness/"),
])
def test_an_insight_answers_exactly_what_the_report_api_answers_for_its_resolved_query(
        make_staff, funnel_events, kind, params, api):
    analyst = make_staff(Role.ANALYST)
    client = _client(analyst)
    created = client.post("/api/v1/insights/", {"name": "n", "kind": kind, "params": params,
                                                "date_range": "last_30_days"}, format="json")
    assert created.status_code == 201, created.json()

    answer = client.get(f"/api/v1/insights/{created.json()['id']}/result/").json()

    assert answer["date_from"] == "2026-10-26" and answer["date_to"] == "2026-11-24"
    live = client.get(api, {**params, "date_from": "2026-10-26", "date_to": "2026-11-24"})
    assert live.status_code == 200
    assert without_clock(answer["result"]) == without_clock(live.json())
    assert answer["error"] is None


def test_fixed_dates_are_kept_and_the_result_is_cached_with_its_time_then_recomputed_on_refresh(
        make_staff, funnel_events, django_assert_max_num_queries):
    client = _client(make_staff(Role.ANALYST))
    insight = client.post("/api/v1/insights/", {"name": "Nov funnel", "kind": "funnel", "params": {
        **FUNNEL, "date_from": "2026-11-16", "date_to": "2026-11-24"}}, format="json").json()
    assert insight["params"]["date_from"] == ["2026-11-16"] and insight["date_range"] == ""

    first = client.get(f"/api/v1/insights/{insight['id']}/result/").json()
    second = client.get(f"/api/v1/insights/{insight['id']}/result/").json()
    refreshed = client.get(f"/api/v1/insights/{insight['id']}/result/?refresh=1").json()

    assert first["cached"] is False and second["cached"] is True
    assert second["computed_at"] == first["computed_at"] and second["result"] == first["result"]
    assert refreshed["cached"] is False and refreshed["computed_at"] > first["computed_at"]
    assert [s["count"] for s in first["result"]["steps"]] == [30, 20, 10]
    assert InsightResult.objects.count() == 1


def test_a_relative_range_moves_with_the_day_it_is_read(make_staff, funnel_events, today_is):
    client = _client(make_staff(Role.ANALYST))
    insight = client.post("/api/v1/insights/", {"name": "week", "kind": "funnel", "params": FUNNEL,
                                                "date_range": "last_1_weeks"}, format="json").json()
    assert client.get(f"/api/v1/insights/{insight['id']}/result/").json()["date_from"] == "2026-11-16"

    today_is(date(2026, 12, 2))

    assert client.get(f"/api/v1/insights/{insight['id']}/result/").json()["date_from"] == "2026-11-23"


# Bad input


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "kind": "nope"}, "kind"),
    ({"name": "x", "kind": "funnel", "params": {"steps": ["visit"], "window_days": ["7"]},
      "date_range": "last_7_days"}, "steps"),
    ({"name": "x", "kind": "funnel", "params": {**FUNNEL}, "date_range": "yesterday-ish"}, "date_range"),
    ({"name": "x", "kind": "funnel", "params": {**FUNNEL}, "date_range": "last_500_days"}, "date_range"),
    ({"name": "x", "kind": "funnel", "params": {**FUNNEL, "date_from": "2026-13-01", "date_to": "2026-11-01"}},
     "date_from"),
    ({"name": "x", "kind": "funnel", "params": "steps=visit"}, "params"),
    ({"name": "", "kind": "funnel", "params": FUNNEL, "date_range": "last_7_days"}, "name"),
    ({"name": "x", "kind": "funnel", "params": FUNNEL, "date_range": "last_7_days", "visibility": "team"}, "team"),
])
def test_bad_insights_are_a_400_with_the_reports_field_errors(make_staff, body, field):
    response = _client(make_staff(Role.ANALYST)).post("/api/v1/insights/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Insight.objects.count() == 0


def test_the_funnel_step_error_is_the_report_apis_own_message(make_staff):
    client = _client(make_staff(Role.ANALYST))
    saved = client.post("/api/v1/insights/", {"name": "x", "kind": "funnel", "date_range": "last_7_days",
                                              "params": {"steps": ["visit"], "window_days": ["7"]}}, format="json")
    live = client.get("/api/v1/analytics/funnel/", {"steps": "visit", "window_days": 7, "date_from": "2026-11-01",
                                                    "date_to": "2026-11-07"})

    assert saved.json()["errors"]["steps"] == live.json()["errors"]["steps"]


# Who reads and who changes


@pytest.fixture
def people(make_staff, team_with):
    owner, teammate, outsider = make_staff(Role.USER_OPS), make_staff(Role.PM), make_staff(Role.MERCHANT_OPS)
    admin = make_staff(Role.ADMIN)
    team = team_with("Growth", "user_ops", lead=owner, members=[teammate])
    return {"owner": owner, "teammate": teammate, "outsider": outsider, "admin": admin, "team": team}


def _visible_ids(user) -> list[int]:
    return sorted(row["id"] for row in _client(user).get("/api/v1/insights/").json()["results"])


def test_visibility_only_me_my_team_everyone(people, funnel_events):
    owner = people["owner"]
    mine = insight_create(user=owner, kind="funnel", params=FUNNEL, name="mine", date_range="last_7_days")
    team = insight_create(user=owner, kind="funnel", params=FUNNEL, name="team", date_range="last_7_days",
                          visibility="team")
    everyone = insight_create(user=owner, kind="funnel", params=FUNNEL, name="all", date_range="last_7_days",
                              visibility="everyone")

    assert team.team == people["team"]  # the owner's only team
    assert _visible_ids(owner) == [mine.pk, team.pk, everyone.pk]
    assert _visible_ids(people["teammate"]) == [team.pk, everyone.pk]
    assert _visible_ids(people["outsider"]) == [everyone.pk]
    assert _visible_ids(people["admin"]) == [mine.pk, team.pk, everyone.pk]
    assert _client(people["outsider"]).get(f"/api/v1/insights/{mine.pk}/result/").status_code == 404


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_an_insight_over_customer_records_is_shown_only_to_roles_that_read_them(make_staff, role):
    owner = make_staff(Role.ANALYST)
    records = insight_create(user=owner, kind="referrers", params={}, name="top referrers", visibility="everyone")
    summary = insight_create(user=owner, kind="customers", params={}, name="customers", visibility="everyone")
    reader = make_staff(role)

    visible = _visible_ids(reader)

    reads_records = role in (Role.USER_OPS, Role.ANALYST, Role.ADMIN)
    assert visible == ([records.pk, summary.pk] if reads_records else [summary.pk])
    assert _client(reader).get(f"/api/v1/insights/{records.pk}/result/").status_code == (
        200 if reads_records else 404)


def test_a_role_cannot_save_a_report_it_does_not_read(make_staff):
    response = _client(make_staff(Role.PM)).post("/api/v1/insights/", {"name": "x", "kind": "referrers"},
                                                  format="json")

    assert response.status_code == 403
    assert Insight.objects.count() == 0


def test_only_the_owner_or_an_admin_edits_and_deletes_others_duplicate(people, funnel_events):
    insight = insight_create(user=people["owner"], kind="funnel", params=FUNNEL, name="shared",
                             date_range="last_7_days", visibility="everyone")
    outsider = _client(people["outsider"])

    assert outsider.patch(f"/api/v1/insights/{insight.pk}/", {"name": "mine now"}, format="json").status_code == 403
    assert outsider.delete(f"/api/v1/insights/{insight.pk}/").status_code == 403
    insight.refresh_from_db()
    assert insight.name == "shared"

    copy = outsider.post(f"/api/v1/insights/{insight.pk}/duplicate/").json()
    assert (copy["owner_id"], copy["visibility"], copy["params"]) == (people["outsider"].pk, "private",
                                                                       insight.params)
    edited = outsider.patch(f"/api/v1/insights/{copy['id']}/", {"params": {**FUNNEL, "window_days": ["3"]},
                                                                 "date_range": "last_30_days"}, format="json")
    assert edited.status_code == 200 and edited.json()["params"]["window_days"] == ["3"]

    assert _client(people["admin"]).delete(f"/api/v1/insights/{insight.pk}/").status_code == 204
    assert not Insight.objects.filter(pk=insight.pk).exists()


def test_the_insight_list_has_a_fixed_number_of_queries(people, django_assert_num_queries):
    for n in range(5):
        insight_create(user=people["owner"], kind="customers", params={}, name=f"i{n}", visibility="everyone")
    client = _client(people["teammate"])

    with django_assert_num_queries(3):  # the user's roles; the count and the page (teams and kinds inlined)
        client.get("/api/v1/insights/")


# Restricting a saved report to a segment can single out customers: only roles that read customer records may.


@pytest.mark.parametrize("name", ["segment", "exclude_segment"])
@pytest.mark.parametrize(("role", "allowed"), [(Role.PM, False), (Role.MERCHANT_OPS, False), (Role.PRODUCT_OPS, False),
                                               (Role.USER_OPS, True), (Role.ANALYST, True), (Role.ADMIN, True)])
def test_only_customer_record_readers_save_an_insight_restricted_to_a_segment(make_staff, role, allowed, name):
    from users.models import Segment

    segment = Segment.objects.create(name="One customer", rules={"field": "distinct_id", "op": "eq", "value": "u1"})
    body = {"kind": "trends", "name": "by segment", "date_range": "last_7_days",
            "params": {"event": ["order_paid"], "measure": ["total"], "interval": ["day"], name: [str(segment.pk)]}}

    response = _client(make_staff(role)).post("/api/v1/insights/", body, format="json")

    if allowed:
        assert response.status_code == 201, response.json()
        assert Insight.objects.get().params[name] == [str(segment.pk)]
    else:
        assert response.status_code == 403
        assert name in response.json()["errors"]
        assert not Insight.objects.exists()


def test_an_insight_cannot_be_edited_into_a_segment_restriction_by_a_role_without_records(make_staff):
    from users.models import Segment

    segment = Segment.objects.create(name="Big spenders", rules={})
    pm = make_staff(Role.PM)
    insight = insight_create(user=pm, kind="trends", params={"event": ["order_paid"]}, name="orders",
                             date_range="last_7_days")

    response = _client(pm).patch(f"/api/v1/insights/{insight.pk}/",
                                 {"params": {"event": ["order_paid"], "segment": [str(segment.pk)]}}, format="json")

    assert response.status_code == 403
    insight.refresh_from_db()
    assert "segment" not in insight.params
