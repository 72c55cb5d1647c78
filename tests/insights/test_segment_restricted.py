"""An insight restricted to a segment (``segment`` / ``exclude_segment``, its own or its dashboard's) can single out
customers: its answer reaches only roles that read customer records, wherever it is shown — the result API (stored
or refreshed), a dashboard's tiles, the insight's page, a subscription's e-mail, an alert — and a role without them
cannot copy the restriction. Others still see that the insight exists, and its owner still edits its other fields."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from openpyxl import load_workbook
from rest_framework.test import APIClient

from desk.models import AlertRule
from desk.services.rules import alert_rule_create
from insights.models import Insight, InsightResult
from insights.services.dashboards import dashboard_create, dashboard_update, tile_add
from insights.services.insights import insight_create
from insights.services.results import insight_evaluate
from insights.services.subscriptions import subscription_create, subscription_run_send, subscriptions_due
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from users.models import Segment

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLES = [(Role.PM, False), (Role.MERCHANT_OPS, False), (Role.PRODUCT_OPS, False),
         (Role.USER_OPS, True), (Role.ANALYST, True), (Role.ADMIN, True)]
REFUSED_PAGE = "Restricted to a segment: your role does not read customer records"
ORDERS = {"event": ["order_paid"], "measure": ["total"], "interval": ["week"]}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _assert_refused(response, name: str) -> None:
    """A 403 on the segment field, with nothing of the answer in it."""
    assert response.status_code == 403, response.content
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    assert body["code"] == "permission_denied" and list(body["errors"]) == [name]


@pytest.fixture(params=["segment", "exclude_segment"])
def restricted(request, make_staff, team_with, funnel_events):
    """A user_ops lead's trends insight restricted to a segment, shared with everyone, on the team's dashboard, its
    answer already stored (a refused reader must not get the stored one either)."""
    name = request.param
    segment = Segment.objects.create(name="One customer", rules={})
    owner = make_staff(Role.USER_OPS, email="lead@example.com")
    team = team_with("Growth", "user_ops", lead=owner)
    insight = insight_create(user=owner, kind="trends", params={**ORDERS, name: [str(segment.pk)]},
                             name="Orders by segment", date_range="last_30_days", visibility="everyone")
    dashboard = dashboard_create(user=owner, name="Growth morning", team_id=team.pk)
    tile = tile_add(user=owner, dashboard=dashboard, insight_id=insight.pk, display="number")
    stored = insight_evaluate(insight=insight, dashboard=dashboard)
    insight_evaluate(insight=insight)
    assert stored.result is not None
    return {"name": name, "segment": segment, "owner": owner, "team": team, "insight": insight,
            "dashboard": dashboard, "tile": tile}


def _member(make_staff, restricted, role):
    from goals.models import TeamMembership

    reader = make_staff(role, email=f"{role}@example.com")
    TeamMembership.objects.create(team=restricted["team"], user=reader)
    return reader


# The insight's result, stored or refreshed


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_the_result_api_gives_a_segment_restricted_answer_only_to_customer_record_readers(
        make_staff, restricted, role, allowed):
    reader = _client(make_staff(role))
    insight, name = restricted["insight"], restricted["name"]
    computed = sorted(InsightResult.objects.values_list("computed_at", flat=True))

    stored = reader.get(f"/api/v1/insights/{insight.pk}/result/?shown=1")
    refreshed = reader.get(f"/api/v1/insights/{insight.pk}/result/?refresh=1")
    listed = reader.get("/api/v1/insights/").json()["results"]
    detail = reader.get(f"/api/v1/insights/{insight.pk}/")

    assert [(row["id"], row["name"], row["kind"]) for row in listed] == [(insight.pk, "Orders by segment", "trends")]
    assert detail.status_code == 200  # it exists, by name and kind
    if allowed:
        assert stored.status_code == 200 and stored.json()["result"]["series"]
        assert refreshed.status_code == 200 and refreshed.json()["cached"] is False
    else:
        _assert_refused(stored, name)
        _assert_refused(refreshed, name)
        assert sorted(InsightResult.objects.values_list("computed_at", flat=True)) == computed  # nothing recomputed


# Dashboards: the page, every tile's stored answer, one tile's answer


def _grid(html: str, dashboard_id: int) -> dict:
    found = re.search(rf'<script id="grid-data-{dashboard_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_a_dashboard_shows_a_segment_restricted_tile_only_to_customer_record_readers(
        client, make_staff, restricted, role, allowed):
    reader = _member(make_staff, restricted, role)
    dashboard, tile, name = restricted["dashboard"], restricted["tile"], restricted["name"]
    api = _client(reader)
    client.force_login(reader)

    page = client.get(f"/insights/dashboards/{dashboard.pk}/")
    results = api.get(f"/api/v1/dashboards/{dashboard.pk}/results/")
    one = api.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/")
    refreshed = api.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/?refresh=1")

    assert page.status_code == 200 and results.status_code == 200
    html = page.content.decode()
    [state] = results.json()["tiles"]
    [grid_state] = _grid(html, dashboard.pk)["tiles"]
    assert "Orders by segment" in html and state["name"] == "Orders by segment"
    if allowed:
        assert state["refused"] is False and state["result"]["result"]["series"]
        assert state["result"]["shown"]["number"] is not None
        assert grid_state["result"]["shown"]["number"] == state["result"]["shown"]["number"]
        assert one.status_code == 200 and refreshed.status_code == 200
        assert REFUSED_PAGE not in html
    else:
        for shown in (state, grid_state):
            assert shown["refused"] is True and shown["readable"] is True
            assert shown["result"]["result"] is None and "shown" not in shown["result"]
            assert shown["result"]["query"] == {} and shown["result"]["computed_at"] is None
            assert shown["result"]["error"]["message"].startswith(REFUSED_PAGE)
            assert list(shown["result"]["error"]["errors"]) == [name]
        assert 'data-testid="tile-refused"' in html and REFUSED_PAGE in html
        _assert_refused(one, name)
        _assert_refused(refreshed, name)


@pytest.mark.parametrize(("role", "allowed"), [(Role.PM, False), (Role.USER_OPS, True)], ids=str)
def test_a_dashboards_own_segment_restricts_its_tiles_the_same_way(client, make_staff, team_with, funnel_events,
                                                                     role, allowed):
    segment = Segment.objects.create(name="One customer", rules={})
    owner = make_staff(Role.USER_OPS)
    reader = make_staff(role)
    team = team_with("Growth", "user_ops", lead=owner, members=[reader])
    insight = insight_create(user=owner, kind="trends", params=ORDERS, name="Orders", date_range="last_30_days",
                             visibility="team")
    dashboard = dashboard_create(user=owner, name="Board", team_id=team.pk)
    tile = tile_add(user=owner, dashboard=dashboard, insight_id=insight.pk)
    dashboard_update(user=owner, dashboard=dashboard, segment_id=segment.pk)
    insight_evaluate(insight=insight, dashboard=dashboard)
    api = _client(reader)

    [state] = api.get(f"/api/v1/dashboards/{dashboard.pk}/results/").json()["tiles"]
    one = api.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/")
    own = api.get(f"/api/v1/insights/{insight.pk}/result/")  # the insight alone is not restricted

    assert own.status_code == 200
    if allowed:
        assert state["refused"] is False and one.status_code == 200
    else:
        assert state["refused"] is True and state["result"]["result"] is None
        _assert_refused(one, "segment")


@pytest.mark.parametrize(("role", "allowed"), [(Role.PM, False), (Role.USER_OPS, True)], ids=str)
def test_the_dashboard_filters_list_segments_only_to_those_who_may_pick_one(client, make_staff, team_with, role,
                                                                            allowed):
    """A PM edits the team's dashboard but may not restrict it to a segment: the filters offer no segment (the
    segments' names are not listed) and applying a date range keeps the segment a user ops lead set."""
    kept = Segment.objects.create(name="Kept by the lead", rules={})
    Segment.objects.create(name="Whales of Hangzhou", rules={})
    owner = make_staff(Role.USER_OPS)
    editor = make_staff(role)
    team = team_with("Growth", "user_ops", lead=owner, members=[editor])
    dashboard = dashboard_create(user=owner, name="Board", team_id=team.pk)
    dashboard_update(user=owner, dashboard=dashboard, segment_id=kept.pk)
    client.force_login(editor)

    page = client.get(f"/insights/dashboards/{dashboard.pk}/").content.decode()
    filters = re.search(r'<form[^>]*data-testid="dashboard-filters".*?</form>', page, re.S).group(0)
    applied = client.post(f"/insights/dashboards/{dashboard.pk}/filters/", {"date_range": "last_7_days"})

    assert ("Whales of Hangzhou" in filters) is allowed and ('name="segment"' in filters) is allowed
    assert applied.status_code == 302
    dashboard.refresh_from_db()
    assert dashboard.date_range == "last_7_days"
    assert dashboard.segment_id == (None if allowed else kept.pk)  # a picker left on "All customers" clears it
    if not allowed:  # and the service refuses them a segment however it is asked
        with pytest.raises(ApplicationError):
            dashboard_update(user=editor, dashboard=dashboard, segment_id=Segment.objects.exclude(pk=kept.pk).get().pk)


# The insight's page


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_the_insight_page_explains_instead_of_showing_a_segment_restricted_answer(
        client, make_staff, restricted, role, allowed):
    client.force_login(make_staff(role))
    insight = restricted["insight"]

    for url in (f"/insights/{insight.pk}/", f"/insights/{insight.pk}/?refresh=1"):
        response = client.get(url)

        html = response.content.decode()
        assert response.status_code == 200 and "Orders by segment" in html
        if allowed:
            assert 'data-testid="tile-number"' in html and 'id="insight-chart-data"' in html
            assert REFUSED_PAGE not in html
        else:
            assert 'data-testid="insight-refused"' in html and REFUSED_PAGE in html
            assert 'data-testid="tile-number"' not in html and 'id="insight-chart-data"' not in html
            assert 'data-testid="result-table"' not in html and 'data-testid="duplicate-insight"' not in html


def test_the_explanation_is_translated(client, make_staff, restricted):
    client.force_login(make_staff(Role.PM, language="zh-hans"))

    html = client.get(f"/insights/{restricted['insight'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "限定于一个分群" in html and REFUSED_PAGE not in html


# Copies and edits


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_only_customer_record_readers_duplicate_a_segment_restricted_insight(make_staff, restricted, role, allowed):
    reader = make_staff(role)
    insight, name = restricted["insight"], restricted["name"]

    response = _client(reader).post(f"/api/v1/insights/{insight.pk}/duplicate/")

    if allowed:
        assert response.status_code == 201 and response.json()["params"] == insight.params
    else:
        _assert_refused(response, name)
        assert list(Insight.objects.values_list("pk", flat=True)) == [insight.pk]


def test_duplicating_from_the_page_is_refused_with_the_reason(client, make_staff, restricted):
    client.force_login(make_staff(Role.MERCHANT_OPS))

    response = client.post(f"/insights/{restricted['insight'].pk}/duplicate/", follow=True)

    assert "does not allow restricting a report to a segment" in response.content.decode()
    assert Insight.objects.count() == 1


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_an_owner_edits_the_other_fields_of_a_segment_restricted_insight_but_changes_its_segment_only_if_allowed(
        make_staff, role, allowed):
    one, other = Segment.objects.create(name="One customer", rules={}), Segment.objects.create(name="Two", rules={})
    owner = make_staff(role)
    # saved when the role still read customer records, or by an administrator for them
    insight = Insight.objects.create(name="orders", kind="trends", params={**ORDERS, "segment": [str(one.pk)]},
                                     date_range="last_30_days", owner=owner)
    client = _client(owner)
    url = f"/api/v1/insights/{insight.pk}/"

    kept = [client.patch(url, {"date_range": "last_7_days"}, format="json"),
            client.patch(url, {"name": "Orders, one customer", "visibility": "everyone"}, format="json"),
            client.patch(url, {"params": {**ORDERS, "segment": [str(one.pk)], "interval": ["day"]}}, format="json")]
    changed = client.patch(url, {"params": {**ORDERS, "segment": [str(other.pk)]}}, format="json")

    assert [response.status_code for response in kept] == [200, 200, 200], [r.content for r in kept]
    insight.refresh_from_db()
    if allowed:
        assert changed.status_code == 200 and insight.params["segment"] == [str(other.pk)]
    else:
        _assert_refused(changed, "segment")
        assert (insight.name, insight.date_range, insight.params["segment"], insight.params["interval"]) == (
            "Orders, one customer", "last_7_days", [str(one.pk)], ["day"])
        added = client.patch(url, {"params": {**ORDERS, "segment": [str(one.pk)],
                                              "exclude_segment": [str(other.pk)]}}, format="json")
        _assert_refused(added, "exclude_segment")
        dropped = client.patch(url, {"params": ORDERS}, format="json")  # lifting the restriction is fine
        assert dropped.status_code == 200 and "segment" not in dropped.json()["params"]


def test_the_edit_page_saves_other_fields_of_a_segment_restricted_insight_of_its_owner(client, make_staff):
    segment = Segment.objects.create(name="One customer", rules={})
    owner = make_staff(Role.PM)
    insight = Insight.objects.create(name="orders", kind="trends", params={**ORDERS, "segment": [str(segment.pk)]},
                                     date_range="last_30_days", owner=owner)
    client.force_login(owner)
    fields = {f"param_{name}": "\n".join(values) for name, values in insight.params.items()}

    response = client.post(f"/insights/{insight.pk}/edit/", {**fields, "name": "renamed", "description": "",
                                                             "date_range": "last_7_days", "visibility": "private"})

    assert response.status_code == 302
    insight.refresh_from_db()
    assert (insight.name, insight.date_range, insight.params["segment"]) == ("renamed", "last_7_days",
                                                                            [str(segment.pk)])


# Subscriptions and alerts carry the figures too


def test_a_subscription_mails_the_explanation_not_the_figures_to_a_reader_without_customer_records(
        make_staff, restricted, today_is):
    pm = _member(make_staff, restricted, Role.PM)
    subscription_create(user=restricted["owner"], frequency="daily", at=time(8), insight_id=restricted["insight"].pk,
                        team_id=restricted["team"].pk)
    today_is(datetime(2026, 11, 26, 8, 5, tzinfo=SHANGHAI))

    assert subscription_run_send(run_id=subscriptions_due()[0]) == 2

    by_reader = {message.to[0]: message for message in mail.outbox}
    lead, refused = by_reader["lead@example.com"], by_reader[pm.email]
    assert REFUSED_PAGE not in lead.body
    assert REFUSED_PAGE in refused.body and REFUSED_PAGE in refused.alternatives[0][0]
    sheet = load_workbook(io.BytesIO(refused.attachments[0][1])).worksheets[0]
    assert list(sheet.values) == []  # no table
    assert list(load_workbook(io.BytesIO(lead.attachments[0][1])).worksheets[0].values)


@pytest.mark.parametrize(("role", "allowed"), ROLES, ids=str)
def test_only_customer_record_readers_set_an_alert_on_a_segment_restricted_insight(
        make_staff, restricted, role, allowed):
    reader = make_staff(role)

    def create():
        return alert_rule_create(user=reader, insight_id=restricted["insight"].pk, metric="value",
                                 condition="above", threshold=1, period="week")

    if allowed:
        assert create().insight_id == restricted["insight"].pk
    else:
        with pytest.raises(ApplicationError) as refused:
            create()
        assert refused.value.status_code == 403 and list(refused.value.errors) == [restricted["name"]]
        assert not AlertRule.objects.filter(kind=AlertRule.Kind.INSIGHT).exists()


@pytest.mark.parametrize(("role", "_allowed"), ROLES)
def test_a_segment_size_names_its_segment_and_is_no_restriction(make_staff, role, _allowed):
    # A segment's size is a summary every role reads (its own API serves them all): its ``segment`` is what it
    # counts, not whom a report is restricted to, so sharing it, reading it and copying it are not refused.
    segment = Segment.objects.create(name="VIP", rules={})
    owner = make_staff(Role.USER_OPS)
    insight = insight_create(user=owner, kind="segment_size", params={"segment": [str(segment.pk)]},
                             name="VIP size", visibility="everyone")
    reader = _client(make_staff(role))

    assert reader.get(f"/api/v1/insights/{insight.pk}/result/").status_code == 200
    copied = reader.post(f"/api/v1/insights/{insight.pk}/duplicate/")
    assert copied.status_code == 201, copied.content


def test_a_rule_on_a_restricted_insight_stays_out_of_the_team_alerts(make_staff, team_with):
    # Its alert carries the insight's figures (value, previous, change): the owner's alone, not the team digest's,
    # which any member reads (a PM in the same analysts team). A rule on an unrestricted insight is shown as before.
    from datetime import date

    from desk.models import Alert
    from desk.selectors import team_alerts_in_range

    segment = Segment.objects.create(name="VIP", rules={})
    owner, pm = make_staff(Role.ANALYST), make_staff(Role.PM)
    team = team_with("Analysts", "analysts", lead=owner, members=[pm])
    restricted = insight_create(user=owner, kind="trends", params={**ORDERS, "segment": [str(segment.pk)]},
                                name="VIP orders", date_range="last_4_weeks", visibility="everyone")
    plain = insight_create(user=owner, kind="trends", params=ORDERS, name="Orders", date_range="last_4_weeks",
                           visibility="everyone")
    day = date(2026, 11, 16)
    for insight in (restricted, plain):
        Alert.objects.create(kind=Alert.Kind.INSIGHT_RULE, subject=f"rule:{insight.pk}", day=day,
                             audience_user=owner, params={"insight_id": insight.pk, "insight": insight.name,
                                                          "value": 12, "previous": 30, "change": -0.6})

    shown = team_alerts_in_range(team=team, date_from=day, date_to=day)

    assert [alert["params"]["insight"] for alert in shown] == ["Orders"]
