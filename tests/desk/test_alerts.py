"""The nightly alert rules at their thresholds, idempotency per (kind, subject, day), audiences and acknowledging."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from analytics.models import MetricsRun
from desk.models import Alert, AlertRule
from desk.selectors import alert_visible_to, alerts_open_for
from desk.services import alerts as alert_services
from desk.services.alerts import alert_acknowledge, alerts_compute, channel_quality_drops
from desk.tasks import alerts_compute_task
from merchants.models import MerchantTierChange, Tier
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from products.models import Ticket, TrackingCheck, TrackingPlan
from tests.factories import MerchantFactory, TicketFactory
from users.models import CustomerRefresh

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 25)  # a Wednesday; the week assessed is 16–22 November


def _row(channel, visitors=100, activation=0.5, repeat=0.3):
    return {"channel": channel, "visitors": visitors, "activation_rate": activation, "repeat_rate_14d": repeat}


# Channel quality


def test_a_drop_of_more_than_20_percent_is_an_alert_and_20_percent_is_not():
    previous = [_row("wechat"), _row("douyin"), _row("search"), _row("store")]
    this_week = [_row("wechat", activation=0.4),  # −20 %: at the threshold, not over it
                 _row("douyin", activation=0.39),  # −22 %
                 _row("search", repeat=0.2),  # −33 %
                 _row("store", activation=0.7, repeat=0.3)]

    drops = channel_quality_drops(this_week=this_week, previous_week=previous, threshold=0.2, min_visitors=20,
                                  repeat_this_week=this_week, repeat_previous_week=previous)

    assert [(d["channel"], d["fell"]) for d in drops] == [("douyin", ["activation_rate"]),
                                                          ("search", ["repeat_rate_14d"])]
    assert drops[1] == {"channel": "search", "fell": ["repeat_rate_14d"], "activation_before": 0.5,
                        "activation_after": 0.5, "repeat_before": 0.3, "repeat_after": 0.2}


def test_the_built_in_channel_rule_starts_at_the_thresholds_it_had_in_code():
    rule = AlertRule.objects.get(kind=AlertRule.Kind.CHANNEL_QUALITY)

    assert (rule.enabled, rule.threshold, rule.options) == (True, 0.2, {"min_visitors": 20})


def test_an_admin_raising_the_channel_threshold_or_switching_the_rule_off_changes_the_alerts(monkeypatch):
    def fake_quality(*, date_from, date_to):
        return {"channels": [_row("wechat", activation=0.35 if date_from == date(2026, 11, 16) else 0.5)]}  # −30 %

    monkeypatch.setattr(alert_services.user_selectors, "channel_quality", fake_quality)
    rule = AlertRule.objects.get(kind=AlertRule.Kind.CHANNEL_QUALITY)
    rule.threshold = 0.4
    rule.save()

    assert alerts_compute(day=DAY).by_kind == {}

    rule.threshold, rule.enabled = 0.25, False
    rule.save()
    assert alerts_compute(day=DAY).by_kind == {}

    rule.enabled = True
    rule.save()
    assert alerts_compute(day=DAY).by_kind == {"channel_quality": 1}


def test_small_weeks_and_new_channels_raise_nothing():
    previous = [_row("wechat", visitors=19), _row("douyin")]
    this_week = [_row("wechat", activation=0.1), _row("douyin", visitors=19, activation=0.1), _row("new", activation=0)]

    assert channel_quality_drops(this_week=this_week, previous_week=previous, threshold=0.2, min_visitors=20,
                                 repeat_this_week=this_week, repeat_previous_week=previous) == []


def test_channel_alerts_compare_the_last_complete_week_with_the_one_before(monkeypatch):
    asked = []

    def fake_quality(*, date_from, date_to):
        asked.append((date_from, date_to))
        rows = [_row("wechat", activation=0.3 if date_from == date(2026, 11, 16) else 0.5)]
        return {"channels": rows}

    monkeypatch.setattr(alert_services.user_selectors, "channel_quality", fake_quality)

    result = alerts_compute(day=DAY)

    # activation: last week against the week before; repeat within 14 days: the newest two weeks whose customers
    # have all had 14 days by Monday 23 November (2–8 Nov ended on the 8th: 14 days later is the 22nd)
    assert asked == [(date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 9), date(2026, 11, 15)),
                     (date(2026, 11, 2), date(2026, 11, 8)), (date(2026, 10, 26), date(2026, 11, 1))]
    alert = Alert.objects.get(kind=Alert.Kind.CHANNEL_QUALITY)
    assert (alert.subject, alert.day, alert.audience_team_kind, alert.audience_role) == (
        "channel:wechat", date(2026, 11, 16), "user_ops", "user_ops")
    assert result.created == 1
    with translation.override("en"):
        assert alert.title == "Channel WeChat: customer quality dropped"  # the channel code by its label
        assert "activation rate 50.0% → 30.0%" in alert.message
        assert ("Week of 2026-11-02 against the week before (every customer has had 14 days): ordering again "
                "within 14 days 30.0% → 30.0%.") in alert.message
    with translation.override("zh-hans"):
        assert alert.title.startswith("渠道 微信")


# Merchants at risk


def _tier_change(merchant, from_tier, to_tier, week):
    return MerchantTierChange.objects.create(merchant=merchant, from_tier=from_tier, to_tier=to_tier,
                                             period_start=week, reason="weekly metrics", changed_at=timezone.now())


def test_merchants_that_fell_to_at_risk_alert_their_owner_once_a_week(make_staff):
    owner = make_staff(Role.MERCHANT_OPS)
    fell = MerchantFactory(owner=owner, health_score=30)
    unowned = MerchantFactory(owner=None)
    rose = MerchantFactory(owner=owner)
    week = date(2026, 11, 16)
    _tier_change(fell, Tier.POTENTIAL, Tier.AT_RISK, week)
    _tier_change(unowned, Tier.ORDINARY, Tier.AT_RISK, week)
    _tier_change(rose, Tier.AT_RISK, Tier.ORDINARY, week)
    _tier_change(MerchantFactory(owner=owner), Tier.ORDINARY, Tier.AT_RISK, week - timedelta(days=21))  # too old

    alerts_compute(day=DAY)

    alerts = {a.subject: a for a in Alert.objects.filter(kind=Alert.Kind.MERCHANT_AT_RISK)}
    assert set(alerts) == {f"owner:{owner.pk}", "owner:none"}
    mine = alerts[f"owner:{owner.pk}"]
    assert (mine.audience_user, mine.audience_role, mine.day) == (owner, "", week)
    assert alerts["owner:none"].audience_role == "merchant_ops"
    assert mine.link == f"/merchants/{fell.pk}/"
    with translation.override("en"):
        assert mine.title == f"{fell.code} {fell.name} fell to at-risk"
        assert mine.message == "From potential to at-risk in the week of 2026-11-16 (health score 30)."


def test_a_bad_week_is_one_alert_naming_the_first_merchants(make_staff):
    owner = make_staff(Role.MERCHANT_OPS)
    week = date(2026, 11, 16)
    merchants = [MerchantFactory(owner=owner, code=f"M9{n:03d}", name=f"Shop {n}") for n in range(7)]
    for merchant in merchants[:3]:
        _tier_change(merchant, Tier.ORDINARY, Tier.AT_RISK, week)
    alerts_compute(day=DAY)
    for merchant in merchants[3:]:  # the next night finds more in the same week: the same alert, updated
        _tier_change(merchant, Tier.POTENTIAL, Tier.AT_RISK, week)

    result = alerts_compute(day=DAY + timedelta(days=1))

    (alert,) = Alert.objects.filter(kind=Alert.Kind.MERCHANT_AT_RISK)
    assert (result.created, alert.params["count"], len(alert.params["merchants"])) == (0, 7, 5)
    assert alert.link == "/merchants/tiers/#moved-down"
    with translation.override("en"):
        assert alert.title == "7 merchants fell to at-risk"
        assert alert.message.startswith("Week of 2026-11-16: M9")
        assert alert.message.endswith("and 2 more.")
    with translation.override("zh-hans"):
        assert "7" in alert.title and "fell" not in alert.title


# Tracking violations


def _check(ticket, violations):
    plan = TrackingPlan.objects.create(ticket=ticket, version=1, status=TrackingPlan.Status.APPROVED,
                                       events=[{"name": "visit", "properties": []}])
    return TrackingCheck.objects.create(ticket=ticket, plan=plan, date_from=DAY - timedelta(days=7),
                                        date_to=DAY - timedelta(days=1), result={"violations": violations})


def test_violations_in_the_latest_check_of_a_launched_ticket(make_staff):
    pm = make_staff(Role.PM)
    bad = TicketFactory(status=Ticket.Status.LAUNCHED, owner_pm=pm)
    _check(bad, [{"event": "visit", "kind": "missing_property", "property": "channel", "count": 4},
                 {"event": "visit", "kind": "wrong_type", "property": "utm", "count": 1}])
    fixed = TicketFactory(status=Ticket.Status.ANALYSING)
    _check(fixed, [{"event": "visit", "kind": "missing_property", "property": "channel", "count": 4}])
    TrackingCheck.objects.create(ticket=fixed, plan=fixed.plans.get(), date_from=DAY, date_to=DAY,
                                 result={"violations": []})  # the newest check is clean
    concluded = TicketFactory(status=Ticket.Status.CONCLUDED)
    _check(concluded, [{"event": "visit", "kind": "missing_property", "property": "channel", "count": 9}])

    alerts_compute(day=DAY)

    (alert,) = Alert.objects.filter(kind=Alert.Kind.TRACKING_VIOLATIONS)
    assert (alert.subject, alert.audience_user, alert.audience_role, alert.day) == (
        f"ticket:{bad.pk}", pm, "analyst", date(2026, 11, 23))
    assert (alert.params["bad"], alert.params["kinds"]) == (5, 2)


# Failed runs


def test_a_failed_nightly_run_is_a_critical_alert_and_a_good_one_is_not():
    MetricsRun.objects.create(date_from=DAY, date_to=DAY, status=MetricsRun.Status.FAILED, error="disk full")
    CustomerRefresh.objects.create(status=CustomerRefresh.Status.DONE)

    alerts_compute(day=DAY)

    (alert,) = Alert.objects.filter(kind=Alert.Kind.RUN_FAILED)
    assert alert.severity == Alert.Severity.CRITICAL
    assert alert.subject.startswith("metrics:")
    assert alert.params["error"] == "disk full"


def test_no_runs_and_done_runs_raise_nothing():
    alerts_compute(day=DAY)
    MetricsRun.objects.create(date_from=DAY, date_to=DAY, status=MetricsRun.Status.DONE)
    alerts_compute(day=DAY)

    assert not Alert.objects.filter(kind=Alert.Kind.RUN_FAILED).exists()


# Idempotency


def test_computing_twice_leaves_the_same_alerts(make_staff, capsys):
    MetricsRun.objects.create(date_from=DAY, date_to=DAY, status=MetricsRun.Status.FAILED, error="boom")
    _tier_change(MerchantFactory(owner=make_staff(Role.MERCHANT_OPS)), Tier.CORE, Tier.AT_RISK, date(2026, 11, 16))
    first = alerts_compute(day=DAY)
    ids = sorted(Alert.objects.values_list("pk", flat=True))

    second = alerts_compute(day=DAY)
    call_command("compute_alerts", "--date", DAY.isoformat())

    assert (first.created, second.created, second.found) == (2, 0, 2)
    assert sorted(Alert.objects.values_list("pk", flat=True)) == ids
    assert "2 found" in capsys.readouterr().out


def test_the_command_refuses_a_bad_date():
    with pytest.raises(CommandError):
        call_command("compute_alerts", "--date", "yesterday")


def test_the_task_runs_the_same_computation(celery_eager):
    MetricsRun.objects.create(date_from=DAY, date_to=DAY, status=MetricsRun.Status.FAILED, error="boom")

    assert alerts_compute_task.delay(DAY.isoformat()).get() == 1
    assert alerts_compute_task.delay(DAY.isoformat()).get() == 0


# Audience and acknowledging


def _alert(**fields):
    defaults = {"kind": Alert.Kind.RUN_FAILED, "subject": f"s{Alert.objects.count()}", "day": timezone.localdate(),
                "params": {"run": "metrics", "started": "", "error": ""}}
    return Alert.objects.create(**{**defaults, **fields})


def test_each_alert_reaches_its_audience(make_staff, team_with):
    operator, other_operator = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    analyst, user_ops, admin = make_staff(Role.ANALYST), make_staff(Role.USER_OPS), make_staff(Role.ADMIN)
    pm_in_user_team = make_staff(Role.PM)
    team_with("User operations", "user_ops", members=[user_ops, pm_in_user_team])
    own = _alert(kind=Alert.Kind.MERCHANT_AT_RISK, audience_user=operator)
    role = _alert(audience_role="analyst")
    team = _alert(kind=Alert.Kind.CHANNEL_QUALITY, audience_team_kind="user_ops")

    def seen(user):
        return set(alert_visible_to(user=user).values_list("pk", flat=True))

    assert seen(operator) == {own.pk}
    assert seen(other_operator) == set()
    assert seen(analyst) == {role.pk}
    assert seen(user_ops) == {team.pk}
    assert seen(pm_in_user_team) == {team.pk}
    assert seen(admin) == {own.pk, role.pk, team.pk}


def test_acknowledging_hides_the_alert_from_every_desk(make_staff):
    analyst, other = make_staff(Role.ANALYST), make_staff(Role.ANALYST)
    alert = _alert(audience_role="analyst")
    old = _alert(audience_role="analyst", day=timezone.localdate() - timedelta(days=15))
    assert [a.pk for a in alerts_open_for(user=other)] == [alert.pk]  # older than 14 days: off the desk

    alert_acknowledge(user=analyst, alert_id=alert.pk)

    assert alerts_open_for(user=other) == []
    alert.refresh_from_db()
    assert alert.acknowledged_by == analyst
    old.refresh_from_db()
    assert old.acknowledged_at is None


def test_acknowledging_an_alert_outside_ones_audience_is_refused_and_changes_nothing(make_staff):
    alert = _alert(audience_role="analyst")

    with pytest.raises(ApplicationError) as refused:
        alert_acknowledge(user=make_staff(Role.USER_OPS), alert_id=alert.pk)

    assert refused.value.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_desk_page_shows_and_acknowledges_alerts(client_for):
    client = client_for(Role.ANALYST)
    alert = _alert(audience_role="analyst", params={"run": "metrics", "started": "2026-11-25 02:00", "error": "boom"})

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "The nightly AARRR metrics run failed" in page.content.decode()

    response = client.post(f"/desk/alerts/{alert.pk}/acknowledge/")

    assert response.status_code == 302
    assert client.get("/").context["desk"]["alerts"] == []


def test_beat_runs_the_alerts_nightly_and_the_subscriptions_not_the_old_digest(settings):
    tasks = {task.name: task for task in PeriodicTask.objects.select_related("crontab", "interval")}

    alerts, digest = tasks["Nightly desk alerts"], tasks["Weekly team digest"]
    subscriptions, refresh = tasks["Insight subscriptions (due e-mails)"], tasks["Dashboards refresh (after the night)"]

    assert (alerts.task, alerts.crontab.hour, alerts.crontab.minute) == ("desk.tasks.alerts_compute_task", "4", "30")
    assert str(alerts.crontab.timezone) == settings.TIME_ZONE == "Asia/Shanghai"
    assert not digest.enabled  # the Monday digest is each team's dashboard subscription now
    assert (subscriptions.task, subscriptions.interval.every, subscriptions.interval.period) == (
        "insights.tasks.subscriptions_due_task", 5, "minutes")
    assert (refresh.task, refresh.crontab.hour, refresh.crontab.minute) == ("insights.tasks.dashboards_refresh_nightly",
                                                                           "5", "0")


def test_a_colleague_can_neither_see_nor_acknowledge_the_owners_at_risk_alert(make_staff, team_with):
    owner, colleague = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    team_with("Merchant operations", "merchant_ops", members=[owner, colleague])
    _tier_change(MerchantFactory(owner=owner), Tier.CORE, Tier.AT_RISK, date(2026, 11, 16))
    alerts_compute(day=DAY)
    (alert,) = Alert.objects.filter(kind=Alert.Kind.MERCHANT_AT_RISK)

    client = APIClient()
    client.force_authenticate(user=colleague)
    response = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")

    assert response.status_code == 404
    assert list(alerts_open_for(user=colleague)) == []
    assert [a.pk for a in alerts_open_for(user=owner)] == [alert.pk]
