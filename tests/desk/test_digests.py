"""The weekly digest: its content on crafted data, e-mails in each reader's language, once per (team, week), the
XLSX download, the command and who may read a digest."""

from __future__ import annotations

import io
from datetime import date, timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from openpyxl import load_workbook
from rest_framework.test import APIClient

from desk.models import Alert, Digest, DigestDelivery
from desk.selectors import alert_visible_to
from desk.services import digests as digest_services
from desk.services.digests import (
    digest_build,
    digest_content,
    digest_xlsx,
    digests_send,
    last_complete_week,
    week_monday,
)
from desk.tasks import digests_send_task
from goals.models import Goal, Metric
from merchants.models import MerchantTierChange, Tier
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from products.models import Ticket
from tests.factories import MerchantFactory, TicketFactory, local_time
from tests.goals.conftest import make_goal
from users.models import Stage, StageDaily

pytestmark = pytest.mark.django_db
WEEK = date(2026, 11, 16)  # Monday
GOAL = {"id": 7, "title": "Sign 20 merchants", "level": "team", "metric": "merchants_signed",
        "metric_label": "merchants signed", "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30),
        "target": 20, "value": 9, "progress": 0.45, "expected": 10.7, "pace": "behind", "url": "/goals/7/"}


@pytest.fixture
def goals(monkeypatch):
    """goals' team_goals_in_range, stubbed with one goal (the real one is tested below and with the goals app)."""
    monkeypatch.setattr(digest_services.goal_selectors, "team_goals_in_range",
                        lambda *, team, date_from, date_to: [dict(GOAL)])


@pytest.fixture
def no_goals(monkeypatch):
    monkeypatch.setattr(digest_services.goal_selectors, "team_goals_in_range",
                        lambda *, team, date_from, date_to: [])


@pytest.fixture
def merchant_team(make_staff, team_with):
    lead = make_staff(Role.MERCHANT_OPS, email="lead@example.com", language="en")
    chinese = make_staff(Role.MERCHANT_OPS, email="li@example.com", language="zh-hans")
    no_mail = make_staff(Role.MERCHANT_OPS)
    return team_with("Merchant operations", "merchant_ops", lead=lead, members=[chinese, no_mail])


def _week_events():
    merchant = MerchantFactory(code="M00042", name="Noodle House")
    MerchantTierChange.objects.create(merchant=merchant, from_tier=Tier.CORE, to_tier=Tier.AT_RISK, period_start=WEEK,
                                      reason="weekly", changed_at=timezone.now())
    MerchantTierChange.objects.create(merchant=MerchantFactory(), from_tier=Tier.POTENTIAL, to_tier=Tier.CORE,
                                      period_start=WEEK, reason="weekly", changed_at=timezone.now())
    MerchantTierChange.objects.create(merchant=MerchantFactory(), from_tier=Tier.POTENTIAL, to_tier=Tier.CORE,
                                      period_start=WEEK - timedelta(days=7), reason="weekly", changed_at=timezone.now())
    launched = TicketFactory(title="One-tap reorder", status=Ticket.Status.LAUNCHED,
                             launched_at=local_time(WEEK + timedelta(days=2), 10))
    concluded = TicketFactory(title="Coupon banner", status=Ticket.Status.CONCLUDED, outcome="success",
                              concluded_at=local_time(WEEK + timedelta(days=6), 23, 30))
    TicketFactory(status=Ticket.Status.LAUNCHED, launched_at=local_time(WEEK + timedelta(days=7), 0, 30))  # next week
    Alert.objects.create(kind=Alert.Kind.MERCHANT_AT_RISK, subject=f"merchant:{merchant.pk}", day=WEEK,
                         params={"code": "M00042", "name": "Noodle House", "from_tier": "core", "week": "2026-11-16",
                                 "score": 20}, audience_team_kind="merchant_ops")
    Alert.objects.create(kind=Alert.Kind.CHANNEL_QUALITY, subject="channel:x", day=WEEK, params={"channel": "x"},
                         audience_team_kind="user_ops")  # another team's
    return launched, concluded


def test_the_content_is_the_weeks_snapshot(merchant_team, goals):
    launched, concluded = _week_events()

    content = digest_content(team=merchant_team, week=WEEK + timedelta(days=3))

    assert (content["week_start"], content["week_end"]) == ("2026-11-16", "2026-11-22")
    assert content["goals"][0]["pace"] == "behind" and content["goals"][0]["period_start"] == "2026-11-01"
    assert (content["merchants"]["up"], content["merchants"]["down"]) == (1, 1)
    assert content["merchants"]["moves"][0] == {"code": "M00042", "name": "Noodle House", "from_tier": "core",
                                                "to_tier": "at_risk"}
    assert [t["ticket_id"] for t in content["tickets"]["launched"]] == [launched.pk]
    assert [(t["ticket_id"], t["outcome"]) for t in content["tickets"]["concluded"]] == [(concluded.pk, "success")]
    assert [a["kind"] for a in content["alerts"]] == ["merchant_at_risk"]


def test_customers_by_stage_from_the_first_and_last_snapshot_of_the_week(merchant_team, goals):
    StageDaily.objects.create(date=WEEK - timedelta(days=1), stage=Stage.NEW, customers=10)
    StageDaily.objects.create(date=WEEK + timedelta(days=5), stage=Stage.NEW, customers=14)
    StageDaily.objects.create(date=WEEK + timedelta(days=5), stage=Stage.ACTIVE, customers=3)
    StageDaily.objects.create(date=WEEK + timedelta(days=7), stage=Stage.NEW, customers=99)  # next week

    rows = {row["stage"]: row for row in digest_content(team=merchant_team, week=WEEK)["customers"]}

    assert (rows["new"]["start"], rows["new"]["end"], rows["new"]["end_day"]) == (10, 14, "2026-11-21")
    assert (rows["active"]["start"], rows["active"]["end"]) == (0, 3)
    assert digest_content(team=merchant_team, week=WEEK - timedelta(days=14))["customers"] == []


def test_each_member_gets_the_digest_in_their_language(merchant_team, goals):
    _week_events()

    result = digests_send(week=WEEK)

    assert (result.built, result.emailed, result.messages) == (1, 1, 2)
    by_reader = {message.to[0]: message for message in mail.outbox}
    assert set(by_reader) == {"lead@example.com", "li@example.com"}
    english, chinese = by_reader["lead@example.com"], by_reader["li@example.com"]
    assert english.subject == "Weekly digest: Merchant operations, week of 2026-11-16"
    assert "Noodle House: core → at risk" in english.body
    assert "Sign 20 merchants" in english.body
    assert f"http://127.0.0.1:8000/desk/digests/{Digest.objects.get().pk}/" in english.body
    # the tier labels come from the merchants catalogue (the desk's own strings arrive with `make messages`)
    assert "Noodle House: 核心 → 风险" in chinese.body
    assert "Noodle House: core → at risk" not in chinese.body
    html = chinese.alternatives[0]
    assert html[1] == "text/html" and "核心" in html[0] and "<table" in html[0]
    digest = Digest.objects.get()
    assert (digest.team, digest.week, digest.emailed_to) == (merchant_team, WEEK, 2)


def test_a_rerun_does_not_email_twice(merchant_team, goals, capsys):
    digests_send(week=WEEK)
    sent = len(mail.outbox)

    again = digests_send(week=WEEK + timedelta(days=4))
    call_command("send_digests", "--week", WEEK.isoformat())

    assert sent == 2 and len(mail.outbox) == 2
    assert (again.built, again.emailed, again.skipped) == (0, 0, ["Merchant operations"])
    assert Digest.objects.count() == 1
    assert "already sent: Merchant operations" in capsys.readouterr().out


def test_a_dry_run_builds_and_sends_nothing(merchant_team, goals, capsys):
    call_command("send_digests", "--week", WEEK.isoformat(), "--dry-run")

    assert mail.outbox == [] and Digest.objects.count() == 0
    assert "Dry run: would send 1 digest(s) for the week of 2026-11-16 (2 e-mail(s)" in capsys.readouterr().out


def test_the_command_refuses_a_bad_week():
    with pytest.raises(CommandError):
        call_command("send_digests", "--week", "2026-13-01")


def test_the_task_defaults_to_the_last_complete_week(merchant_team, goals, celery_eager):
    assert digests_send_task.delay().get() == 2
    assert Digest.objects.get().week == last_complete_week()
    assert digests_send_task.delay().get() == 0


def test_the_xlsx_has_a_sheet_per_section(merchant_team, goals, client_for):
    _week_events()
    digest, _ = digest_build(team=merchant_team, week=WEEK)
    client = client_for(Role.ADMIN)

    response = client.get(f"/desk/digests/{digest.pk}/digest.xlsx", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Goals", "Merchants", "Customers", "Tickets", "Channels", "Alerts"]
    goals_sheet = workbook["Goals"]
    assert [c.value for c in goals_sheet[1]][:2] == ["Goal", "Level"]
    assert goals_sheet["A2"].value == "Sign 20 merchants" and goals_sheet["F2"].number_format == "0.0%"
    assert goals_sheet["A1"].font.bold
    assert workbook["Merchants"]["A2"].value == "M00042"
    assert workbook["Alerts"].max_row == 2


# Who may read a digest


@pytest.fixture
def digest(merchant_team, goals):
    return digest_build(team=merchant_team, week=WEEK)[0]


def test_members_and_admins_read_a_digest_others_get_403(client, make_staff, digest, merchant_team):
    member = merchant_team.memberships.get(is_lead=False, user__email="li@example.com").user
    outsider = make_staff(Role.MERCHANT_OPS)
    for user, status in [(member, 200), (make_staff(Role.ADMIN), 200), (outsider, 403)]:
        client.force_login(user)
        assert client.get(f"/desk/digests/{digest.pk}/").status_code == status
        assert client.get(f"/desk/digests/{digest.pk}/digest.xlsx").status_code == status
    client.force_login(outsider)
    assert client.get("/desk/digests/").context["digests"] == []
    client.force_login(member)
    page = client.get("/desk/digests/")
    assert page.context["digests"] == [digest]
    assert client.get("/desk/digests/999999/").status_code == 404


def test_the_digest_page_renders_the_snapshot(client, digest, merchant_team):
    client.force_login(merchant_team.memberships.get(is_lead=True).user)

    page = client.get(f"/desk/digests/{digest.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Merchant operations: week of 2026-11-16" in page
    assert "Sign 20 merchants" in page


def test_the_digest_list_query_count_does_not_grow(client, make_staff, team_with, django_assert_num_queries):
    member = make_staff(Role.USER_OPS)
    for n in range(3):
        digest_build(team=team_with(f"Team {n}", "other", members=[member]), week=WEEK)
    client.force_login(member)

    # session, user, roles, the digests with their teams
    with django_assert_num_queries(4):
        assert len(client.get("/desk/digests/").context["digests"]) == 3


# Once per member, even when a send fails half-way (rev7)


class FailOnSecond(EmailBackend):
    calls = 0

    def send_messages(self, messages):
        FailOnSecond.calls += 1
        if FailOnSecond.calls == 2:
            raise SMTPServerDisconnected("connection lost")
        return super().send_messages(messages)


def test_a_digest_is_emailed_once_per_member_even_when_a_send_fails_half_way(make_staff, team_with, settings,
                                                                               no_goals):
    settings.EMAIL_BACKEND = "tests.desk.test_digests.FailOnSecond"
    FailOnSecond.calls = 0
    a = make_staff(Role.MERCHANT_OPS, username="a", email="a@example.com")
    b = make_staff(Role.MERCHANT_OPS, username="b", email="b@example.com")
    team_with("Merchant operations", "merchant_ops", lead=a, members=[b])

    with pytest.raises(SMTPServerDisconnected):
        digests_send(week=WEEK)  # the task retries on this
    digest = Digest.objects.get()
    assert digest.emailed_at is None
    assert list(DigestDelivery.objects.values_list("user__username", flat=True)) == ["a"]

    retry = digests_send(week=WEEK)

    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert retry.messages == 1
    digest.refresh_from_db()
    assert digest.emailed_at is not None and digest.emailed_to == 2
    assert digests_send(week=WEEK).skipped == ["Merchant operations"] and len(mail.outbox) == 2


# Codes in the content, labels in the reader's language (rev7)


@pytest.fixture
def chinese_team(make_staff, team_with):
    chinese = make_staff(Role.MERCHANT_OPS, username="li", email="li@example.com", language="zh-hans")
    team = team_with("Merchant operations", "merchant_ops", lead=chinese)
    make_goal(metric=Metric.MERCHANTS_SIGNED, target=20, level=Goal.Level.TEAM, team=team, title="Sign 20")
    return team


def test_the_digest_shows_the_goal_metric_in_the_readers_language(chinese_team, client):
    digests_send(week=WEEK)  # the Celery worker runs in LANGUAGE_CODE (en)

    goal = Digest.objects.get().content["goals"][0]
    assert (goal["metric"], goal["level"]) == ("merchants_signed", "team") and "metric_label" not in goal
    html = mail.outbox[0].alternatives[0][0]
    assert "Sign 20" in html and "签约商家数" in html and "merchants signed" not in html
    assert '<html lang="zh-hans">' in html
    client.force_login(chinese_team.memberships.get().user)
    page = client.get(f"/desk/digests/{Digest.objects.get().pk}/").content.decode()  # the reader's language
    assert "签约商家数" in page and "merchants signed" not in page


def test_the_digest_xlsx_level_and_metric_columns_are_translated(chinese_team):
    digests_send(week=WEEK)

    with translation.override("zh-hans"):
        sheet = load_workbook(io.BytesIO(digest_xlsx(digest=Digest.objects.get())))["目标"]
        row = list(sheet.iter_rows(values_only=True))[1]
    assert row[:3] == ("Sign 20", "团队", "签约商家数")
    with translation.override("en"):
        sheet = load_workbook(io.BytesIO(digest_xlsx(digest=Digest.objects.get())))["Goals"]
        assert list(sheet.iter_rows(values_only=True))[1][:3] == ("Sign 20", "team", "merchants signed")


# The week a month ends (rev7)


def test_the_digest_of_the_week_a_month_ends_reports_that_months_goals(make_staff, team_with):
    team = team_with("Merchant operations", "merchant_ops", lead=make_staff(Role.MERCHANT_OPS))
    for title, start in [("September", date(2026, 9, 1)), ("October", date(2026, 10, 1)),
                         ("November", date(2026, 11, 1)), ("December", date(2026, 12, 1))]:
        make_goal(metric=Metric.MERCHANTS_SIGNED, target=20, level=Goal.Level.TEAM, team=team, title=title,
                  start=start)
    for day in (date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)):
        MerchantFactory(signed_at=local_time(day, 10))

    goals = digest_content(team=team, week=date(2026, 10, 26))["goals"]  # Mon 26 Oct – Sun 1 Nov

    # October measured as it closed (31 Oct), November at the week's end (1 Nov): not just the goals holding Sunday
    assert [(g["title"], g["value"]) for g in goals] == [("October", 2), ("November", 1)]


# Alerts: only those the team's members may see on their desk (rev7)


def test_a_digest_only_carries_alerts_its_members_may_see(make_staff, team_with, no_goals):
    pm = make_staff(Role.PM, username="pm")
    team = team_with("Product managers", "pms", lead=pm)
    other_pm = make_staff(Role.PM, username="other_pm")
    others = Alert.objects.create(kind=Alert.Kind.TRACKING_VIOLATIONS, subject="ticket:1", day=WEEK,
                                  params={"key": "REQ-1", "title": "x"}, audience_team_kind="analysts",
                                  audience_role="analyst", audience_user=other_pm)
    mine = Alert.objects.create(kind=Alert.Kind.TRACKING_VIOLATIONS, subject="ticket:2", day=WEEK,
                                params={"key": "REQ-2", "title": "y"}, audience_team_kind="analysts",
                                audience_role="analyst", audience_user=pm)
    assert not alert_visible_to(user=pm).filter(pk=others.pk).exists()

    content = digest_content(team=team, week=WEEK)

    assert [a["id"] for a in content["alerts"]] == [mine.pk]


def test_an_other_team_gets_only_the_alerts_addressed_to_its_members(make_staff, team_with, no_goals):
    merchant_ops = make_staff(Role.MERCHANT_OPS, username="m")
    team = team_with("Launch squad", "other", lead=merchant_ops)
    visible = Alert.objects.create(kind=Alert.Kind.MERCHANT_AT_RISK, subject="merchant:1", day=WEEK,
                                   params={"code": "M1", "name": "A"}, audience_role="merchant_ops")
    Alert.objects.create(kind=Alert.Kind.CHANNEL_QUALITY, subject="channel:x", day=WEEK, params={"channel": "x"},
                         audience_team_kind="user_ops", audience_role="user_ops")
    Alert.objects.create(kind=Alert.Kind.RUN_FAILED, subject="run:1", day=WEEK, params={},
                         audience_team_kind="analysts", audience_role="analyst")

    assert [a["id"] for a in digest_content(team=team, week=WEEK)["alerts"]] == [visible.pk]
    assert digest_content(team=team_with("Nobody", "other"), week=WEEK)["alerts"] == []
    # an administrator in the team sees every alert on their own desk, but does not widen the team's digest
    team.memberships.create(user=make_staff(Role.ADMIN, username="boss"))
    assert [a["id"] for a in digest_content(team=team, week=WEEK)["alerts"]] == [visible.pk]


# Only weeks that have ended


def test_a_week_that_has_not_ended_is_refused(merchant_team, goals):
    this_week = week_monday(timezone.localdate())
    for week in (this_week, this_week + timedelta(days=7)):
        with pytest.raises(ApplicationError, match="has not ended yet"):
            digests_send(week=week)
        with pytest.raises(CommandError, match="has not ended yet"):
            call_command("send_digests", "--week", (week + timedelta(days=6)).isoformat())
        with pytest.raises(CommandError, match="has not ended yet"):
            call_command("send_digests", "--week", week.isoformat(), "--dry-run")
    assert Digest.objects.count() == 0 and mail.outbox == []
    assert digests_send(week=this_week - timedelta(days=1)).messages == 2  # last week's Sunday: ended


def test_the_digest_api_errors_are_in_the_readers_language(make_staff, digest):
    client = APIClient()
    client.force_authenticate(user=make_staff(Role.MERCHANT_OPS))
    assert client.get("/api/v1/digests/999999/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["message"] == "没有这份周报。"
    response = client.get(f"/api/v1/digests/{digest.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403 and response.json()["message"] == "这份周报仅供该团队成员查看。"
