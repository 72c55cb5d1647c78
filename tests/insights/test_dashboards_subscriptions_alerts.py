"""Dashboards (tiles, overrides, order, pinning, cached answers), annotations on time charts, subscriptions (due
slots, one e-mail per reader in their language with the XLSX, retries), and alert rules set on insights."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from openpyxl import load_workbook
from rest_framework.test import APIClient

from desk.models import Alert, AlertNotification
from desk.services.alerts import alerts_compute
from desk.services.rules import alert_rule_create, notification_email_send
from insights.models import Dashboard, DashboardTile, SubscriptionDelivery, SubscriptionRun
from insights.services.dashboards import dashboard_create, dashboard_pin, tile_add
from insights.services.digests import team_digests_ensure
from insights.services.insights import insight_create
from insights.services.subscriptions import (
    next_run_after,
    subscription_create,
    subscription_run_send,
    subscriptions_due,
)
from ops_platform.core.chart_markers import chart_markers
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.factories import without_clock

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FUNNEL = {"steps": ["visit", "signup", "order_paid"], "window_days": ["7"]}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def crew(make_staff, team_with):
    lead = make_staff(Role.USER_OPS, email="lead@example.com")
    member = make_staff(Role.PM, email="member@example.com", language="zh-hans")
    outsider = make_staff(Role.MERCHANT_OPS, email="out@example.com")
    team = team_with("Growth", "user_ops", lead=lead, members=[member])
    return {"lead": lead, "member": member, "outsider": outsider, "team": team}


@pytest.fixture
def board(crew, funnel_events):
    lead = crew["lead"]
    funnel = insight_create(user=lead, kind="funnel", params=FUNNEL, name="Sign-up funnel",
                            date_range="last_30_days", visibility="team")
    aarrr = insight_create(user=lead, kind="aarrr", params={}, name="AARRR", date_range="last_30_days",
                           visibility="team")
    dashboard = dashboard_create(user=lead, name="Growth morning", team_id=crew["team"].pk)
    tiles = [tile_add(user=lead, dashboard=dashboard, insight_id=funnel.pk),
             tile_add(user=lead, dashboard=dashboard, insight_id=aarrr.pk, display="number")]
    return {"dashboard": dashboard, "funnel": funnel, "aarrr": aarrr, "tiles": tiles}


# Dashboards


def test_a_private_insight_cannot_go_on_a_team_dashboard(crew, board):
    private = insight_create(user=crew["lead"], kind="funnel", params=FUNNEL, name="mine", date_range="last_7_days")

    with pytest.raises(ApplicationError, match="not shared"):
        tile_add(user=crew["lead"], dashboard=board["dashboard"], insight_id=private.pk)
    assert board["dashboard"].tiles.count() == 2


def test_the_dashboard_range_overrides_every_tile_and_the_answer_equals_the_report(crew, board):
    client = _client(crew["member"])
    dashboard, tile = board["dashboard"], board["tiles"][0]
    assert client.patch(f"/api/v1/dashboards/{dashboard.pk}/", {"date_range": "last_1_weeks"},
                        format="json").status_code == 200

    answer = client.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/").json()

    assert (answer["date_from"], answer["date_to"]) == ("2026-11-16", "2026-11-22")
    live = client.get("/api/v1/analytics/funnel/", {**FUNNEL, "date_from": "2026-11-16", "date_to": "2026-11-22"})
    assert without_clock(answer["result"]) == without_clock(live.json())
    last = live.json()["steps"][-1]["conversion_from_first"]
    assert answer["shown"]["number"]["display"] == f"{last * 100:.1f}%"

    fixed = client.patch(f"/api/v1/dashboards/{dashboard.pk}/", {"date_range": "", "date_from": "2026-11-20",
                                                                 "date_to": "2026-11-24"}, format="json")
    assert fixed.status_code == 200
    answer = client.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/").json()
    assert (answer["date_from"], answer["date_to"]) == ("2026-11-20", "2026-11-24")


@pytest.mark.parametrize(("body", "field"), [
    ({"date_range": "forever"}, "date_range"),
    ({"date_from": "2026-11-20"}, "date_to"),
    ({"date_from": "2026-11-24", "date_to": "2026-11-20"}, "date_to"),
    ({"segment": 999999}, "segment"),
])
def test_bad_dashboard_filters_are_refused_with_their_field(crew, board, body, field):
    response = _client(crew["lead"]).patch(f"/api/v1/dashboards/{board['dashboard'].pk}/", body, format="json")

    assert response.status_code == 400 and field in response.json()["errors"]


def test_tiles_reorder_by_drag_and_by_one_place(crew, board):
    client = _client(crew["member"])
    dashboard = board["dashboard"]
    first, second = board["tiles"]

    order = client.post(f"/api/v1/dashboards/{dashboard.pk}/tiles/order/", {"tiles": [second.pk, first.pk]},
                        format="json")
    assert [t["id"] for t in order.json()] == [second.pk, first.pk]
    assert client.post(f"/api/v1/dashboards/{dashboard.pk}/tiles/order/", {"tiles": [second.pk]},
                       format="json").status_code == 400

    page = APIClient()
    page.force_login(crew["member"])
    page.post(f"/insights/dashboards/{dashboard.pk}/tiles/{first.pk}/move/", {"to": "up"})
    assert list(DashboardTile.objects.filter(dashboard=dashboard).values_list("pk", flat=True)) == [first.pk,
                                                                                                  second.pk]


def test_an_outsider_neither_reads_nor_changes_a_team_dashboard(crew, board):
    client = _client(crew["outsider"])
    dashboard = board["dashboard"]

    assert client.get(f"/api/v1/dashboards/{dashboard.pk}/").status_code == 404
    assert client.post(f"/api/v1/dashboards/{dashboard.pk}/tiles/order/", {"tiles": []},
                       format="json").status_code == 404
    assert [d["id"] for d in client.get("/api/v1/dashboards/").json()["results"]] == []


def test_only_a_lead_pins_and_the_pinned_dashboard_replaces_the_platform_block(crew, board, client):
    dashboard = board["dashboard"]
    with pytest.raises(ApplicationError):
        dashboard_pin(user=crew["member"], dashboard=dashboard, pinned=True)
    dashboard_pin(user=crew["lead"], dashboard=dashboard, pinned=True)

    client.force_login(crew["member"])
    home = client.get("/").content.decode()
    assert 'data-testid="pinned-dashboard"' in home and "Growth morning" in home
    assert 'data-testid="kpi-events"' not in home

    client.force_login(crew["outsider"])  # not in the team: the platform block, as on a fresh install
    assert 'data-testid="kpi-events"' in client.get("/").content.decode()


def test_stored_answers_come_back_in_one_query_with_their_age(crew, board, django_assert_max_num_queries):
    client = _client(crew["lead"])
    dashboard = board["dashboard"]
    for tile in board["tiles"]:
        client.get(f"/api/v1/dashboards/{dashboard.pk}/tiles/{tile.pk}/result/")

    with django_assert_max_num_queries(8):
        states = client.get(f"/api/v1/dashboards/{dashboard.pk}/results/").json()["tiles"]

    assert [s["result"]["cached"] for s in states] == [True, True]
    assert all(s["result"]["computed_at"] and not s["result"]["stale"] for s in states)


# Annotations


def test_anyone_who_reads_analytics_annotates_a_date_and_every_time_chart_shows_it(crew, board):
    response = _client(crew["outsider"]).post("/api/v1/annotations/", {"date": "2026-11-11", "text": "Singles' Day"},
                                              format="json")
    assert response.status_code == 201

    markers = chart_markers(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert {"date": date(2026, 11, 11), "label": "Singles' Day", "url": "", "kind": "annotation"} in markers
    answer = _client(crew["lead"]).get(f"/api/v1/insights/{board['aarrr'].pk}/result/?shown=1").json()
    assert {"date": "2026-11-11", "label": "Singles' Day", "kind": "annotation"} in answer["shown"]["chart"]["markers"]
    assert _client(crew["lead"]).delete(f"/api/v1/annotations/{response.json()['id']}/").status_code == 403


# Subscriptions


def test_next_runs_are_local_times():
    after = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # Wednesday
    assert next_run_after(frequency="daily", weekday=0, at=time(8), after=after) == datetime(
        2026, 11, 26, 8, 0, tzinfo=SHANGHAI)
    assert next_run_after(frequency="weekly", weekday=0, at=time(8), after=after) == datetime(
        2026, 11, 30, 8, 0, tzinfo=SHANGHAI)
    assert next_run_after(frequency="weekly", weekday=2, at=time(11), after=after) == datetime(
        2026, 11, 25, 11, 0, tzinfo=SHANGHAI)


def test_a_due_subscription_mails_each_reader_once_in_their_language_with_the_xlsx(crew, board, today_is):
    subscription = subscription_create(user=crew["lead"], frequency="weekly", weekday=0, at=time(8),
                                       dashboard_id=board["dashboard"].pk, team_id=crew["team"].pk,
                                       recipient_ids=[crew["outsider"].pk])
    assert subscription.next_run_at == datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)
    assert subscriptions_due() == []

    today_is(datetime(2026, 11, 30, 8, 1, tzinfo=SHANGHAI))
    runs = subscriptions_due()
    assert len(runs) == 1 and subscriptions_due() == []  # the slot is taken once

    assert subscription_run_send(run_id=runs[0]) == 3
    by_reader = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_reader) == ["lead@example.com", "member@example.com", "out@example.com"]
    english, chinese = by_reader["lead@example.com"], by_reader["member@example.com"]
    assert english.subject == "Growth morning — 2026-11-30"
    assert "Conversion, first to last step" in english.body and "Sign-up funnel" in english.body
    assert "漏斗" in chinese.body and 'lang="zh-hans"' in chinese.alternatives[0][0]
    name, content, mimetype = english.attachments[0]
    assert name.endswith(".xlsx") and mimetype.endswith("spreadsheetml.sheet")
    sheets = load_workbook(io.BytesIO(content)).sheetnames
    assert sheets == ["Sign-up funnel", "AARRR"]
    # the outsider reads neither team insight: an e-mail that says so, and an empty workbook
    assert "Nothing in this subscription is shared with you." in by_reader["out@example.com"].body

    assert subscription_run_send(run_id=runs[0]) == 0  # a retry sends nothing twice
    assert len(mail.outbox) == 3
    assert SubscriptionDelivery.objects.filter(run_id=runs[0]).count() == 3
    assert SubscriptionRun.objects.get(pk=runs[0]).status == "done"


def test_a_failed_send_is_retried_for_the_readers_not_served(crew, board, monkeypatch, today_is):
    subscription = subscription_create(user=crew["lead"], frequency="daily", at=time(8),
                                       insight_id=board["funnel"].pk, team_id=crew["team"].pk)
    today_is(datetime(2026, 11, 26, 8, 5, tzinfo=SHANGHAI))
    run_id = subscriptions_due()[0]
    sent = []
    real_send = mail.EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        if self.to == ["member@example.com"] and not sent:
            sent.append("boom")
            raise OSError("SMTP went away")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", flaky)
    with pytest.raises(OSError):
        subscription_run_send(run_id=run_id)
    assert SubscriptionRun.objects.get(pk=run_id).status == "failed"

    subscription_run_send(run_id=run_id)

    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.com", "member@example.com"]
    assert subscription.runs.get().status == "done"


# Alert rules on insights


def test_an_aarrr_rule_fires_on_the_last_complete_week_and_reaches_the_desk_and_the_owner(crew, board):
    rule = alert_rule_create(user=crew["lead"], insight_id=board["aarrr"].pk, metric="activation",
                             condition="above", threshold=5, period="week", email=True)

    result = alerts_compute(day=date(2026, 11, 25))

    alert = Alert.objects.get(kind=Alert.Kind.INSIGHT_RULE)
    assert (alert.subject, alert.day, alert.audience_user_id) == (f"rule:{rule.pk}", date(2026, 11, 16),
                                                                 crew["lead"].pk)
    assert alert.params["value"] == 14.0  # sign-ups on 16–22 November: two of every three of the 21 visitors
    assert alert.link == f"/insights/{board['aarrr'].pk}/"
    note = AlertNotification.objects.get()
    assert result.to_email == [note.pk]
    assert notification_email_send(notification_id=note.pk) is True
    assert notification_email_send(notification_id=note.pk) is False  # once
    assert mail.outbox[0].to == ["lead@example.com"] and "AARRR" in mail.outbox[0].subject
    desk = _client(crew["lead"]).get("/api/v1/desk/").json()
    assert [a["kind"] for a in desk["alerts"]] == ["insight_rule"]

    alerts_compute(day=date(2026, 11, 25))  # the night runs twice: nothing new
    assert Alert.objects.filter(kind=Alert.Kind.INSIGHT_RULE).count() == 1
    assert AlertNotification.objects.count() == 1


def test_a_funnel_rule_waits_for_the_conversion_window_and_a_change_rule_needs_a_previous_value(crew, board):
    alert_rule_create(user=crew["lead"], insight_id=board["funnel"].pk, metric="conversion", condition="change",
                      threshold=0.1, period="week")

    alerts_compute(day=date(2026, 11, 25))

    # a 7-day window: the week of 16 November is final only from 30 November, so the week of 9 November is judged,
    # against the week before; both had no entrant, so there is no change to speak of
    assert not Alert.objects.filter(kind=Alert.Kind.INSIGHT_RULE).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"metric": "nonsense", "condition": "above", "threshold": 1}, "metric"),
    ({"metric": "activation", "condition": "sideways", "threshold": 1}, "condition"),
    ({"metric": "activation", "condition": "change", "threshold": 0}, "threshold"),
])
def test_bad_rules_are_refused_with_their_field(crew, board, body, field):
    response = _client(crew["lead"]).post("/api/v1/alert-rules/", {"insight": board["aarrr"].pk, **body},
                                          format="json")

    assert response.status_code == 400 and field in response.json()["errors"]


def test_only_admins_change_the_built_in_rules(crew, make_staff):
    rules = _client(crew["lead"]).get("/api/v1/alert-rules/").json()["results"]
    channel = next(r for r in rules if r["kind"] == "channel_quality")

    assert _client(crew["lead"]).patch(f"/api/v1/alert-rules/{channel['id']}/", {"threshold": 0.5},
                                       format="json").status_code == 403
    admin = _client(make_staff(Role.ADMIN))
    assert admin.patch(f"/api/v1/alert-rules/{channel['id']}/", {"threshold": 0.5, "enabled": False},
                       format="json").json()["threshold"] == 0.5
    assert admin.delete(f"/api/v1/alert-rules/{channel['id']}/").status_code == 403


# The weekly digest is a default subscription of the team's digest dashboard


def test_every_team_gets_its_digest_dashboard_and_monday_subscription_once(crew, funnel_events, today_is):
    assert team_digests_ensure() == 1
    assert team_digests_ensure() == 0
    dashboard = Dashboard.objects.get(team=crew["team"], team_digest=True)
    assert [tile.insight.kind for tile in dashboard.tiles.order_by("position")] == [
        "team_goals", "aarrr", "channel_quality", "lifecycle", "tier_moves", "launches", "team_alerts"]
    subscription = dashboard.subscriptions.get()
    assert (subscription.frequency, subscription.weekday, subscription.time, subscription.date_range,
            subscription.team) == ("weekly", 0, time(8), "last_1_weeks", crew["team"])
    assert subscription.next_run_at == datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)

    today_is(datetime(2026, 11, 30, 8, 2, tzinfo=SHANGHAI))
    run_id = subscriptions_due()[0]
    assert subscription_run_send(run_id=run_id) == 2  # the lead and the member (the outsider is not in the team)
    chinese = next(m for m in mail.outbox if m.to == ["member@example.com"])
    sheets = load_workbook(io.BytesIO(chinese.attachments[0][1])).sheetnames
    # the tiles the platform named are named in the reader's language (insights.labels)
    assert sheets == ["目标", "AARRR 阶段", "渠道", "各生命周期阶段的用户", "层级变动的商家", "上线与结论", "提醒"]
    assert "2026-11-23 – 2026-11-29" in chinese.body  # the last complete week, resolved on the run's day


@pytest.mark.parametrize(("role", "allowed"), [(Role.PM, False), (Role.USER_OPS, True)])
def test_only_customer_record_readers_set_a_dashboards_segment(make_staff, role, allowed):
    from users.models import Segment

    segment = Segment.objects.create(name="One customer", rules={})
    person = make_staff(role)
    dashboard = dashboard_create(user=person, name="Mine")

    response = _client(person).patch(f"/api/v1/dashboards/{dashboard.pk}/", {"segment": segment.pk}, format="json")

    dashboard.refresh_from_db()
    if allowed:
        assert response.status_code == 200 and dashboard.segment_id == segment.pk
    else:
        assert response.status_code == 403 and "segment" in response.json()["errors"]
        assert dashboard.segment_id is None
