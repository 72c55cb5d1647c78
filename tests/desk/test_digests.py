"""The weekly digest: its content on crafted data, e-mails in each reader's language, once per (team, week), the
XLSX download, the command and who may read a digest."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from openpyxl import load_workbook

from desk.models import Alert, Digest
from desk.services import digests as digest_services
from desk.services.digests import digest_build, digest_content, digests_send, last_complete_week
from desk.tasks import digests_send_task
from merchants.models import MerchantTierChange, Tier
from ops_platform.core.roles import Role
from products.models import Ticket
from tests.factories import MerchantFactory, TicketFactory, local_time
from users.models import Stage, StageDaily

pytestmark = pytest.mark.django_db
WEEK = date(2026, 11, 16)  # Monday
GOAL = {"id": 7, "title": "Sign 20 merchants", "level": "team", "metric": "merchants_signed",
        "metric_label": "merchants signed", "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30),
        "target": 20, "value": 9, "progress": 0.45, "expected": 10.7, "pace": "behind", "url": "/goals/7/"}


@pytest.fixture
def goals(monkeypatch):
    """goals7's team_goals, stubbed with one goal (the real one is tested with the goals app)."""
    monkeypatch.setattr(digest_services.goal_selectors, "team_goals", lambda *, team, on=None: [dict(GOAL)])


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
