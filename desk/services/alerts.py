"""The nightly alerts: what the night's computations found that someone should look at.

Each rule reads the apps' selectors and yields alerts keyed by (kind, subject, day); they are stored with
``ignore_conflicts`` on that unique key, so running the computation twice (or a retried task) adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors as analytics_selectors
from desk.models import Alert, AlertRule
from desk.selectors import alert_visible_to
from desk.services.rules import builtin_rule, insight_rule_alerts, notifications_create
from goals.models import Team
from merchants import selectors as merchant_selectors
from merchants.models import Tier
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import WEEK, last_complete_period
from ops_platform.core.roles import Role
from products import selectors as product_selectors
from users import selectors as user_selectors

# The thresholds are the built-in alert rules' (desk.models.AlertRule, defaults in desk.services.rules): a channel
# whose rate fell by more than ``threshold`` (relative, 0.2 = 20 %) with ``min_visitors`` new visitors in both
# weeks; a merchant metrics run still STARTED after ``stuck_hours`` was left by a crash. Administrators change them.


@dataclass
class AlertsResult:
    day: date
    found: int = 0
    created: int = 0
    to_email: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


def _week_before(day: date) -> tuple[date, date]:
    """The last complete Monday–Sunday week before ``day``."""
    monday = day - timedelta(days=day.weekday()) - timedelta(days=7)
    return monday, monday + timedelta(days=6)


REPEAT_KEY = f"repeat_rate_{user_selectors.REPEAT_DAYS}d"
# the weeks whose customers have all had REPEAT_DAYS days by the Monday after the last complete week
REPEAT_WEEKS_BACK = -(-user_selectors.REPEAT_DAYS // 7)


def channel_quality_drops(*, this_week: list[dict], previous_week: list[dict], threshold: float, min_visitors: int,
                          repeat_this_week: list[dict] | None = None,
                          repeat_previous_week: list[dict] | None = None) -> list[dict]:
    """Channels whose activation rate (``this_week`` against ``previous_week``) or repeat rate within 14 days
    (``repeat_this_week`` against ``repeat_previous_week``: weeks old enough for every customer to have had their 14
    days) fell by more than ``threshold`` (relative). Rows as ``users.selectors.channel_quality`` gives them; a week
    of fewer than ``min_visitors`` new customers on either side is not judged."""
    figures: dict[str, dict] = {}  # per channel: both comparisons' figures (an alert shows them all)

    def compare(now_rows, before_rows, key, name):
        before = {row["channel"]: row for row in before_rows}
        for row in now_rows:
            old = before.get(row["channel"])
            if old is None or row["visitors"] < min_visitors or old["visitors"] < min_visitors:
                continue
            now_rate, old_rate = row.get(key), old.get(key)
            channel = figures.setdefault(row["channel"], {"channel": row["channel"], "fell": []})
            channel.update({f"{name}_before": old_rate, f"{name}_after": now_rate})
            if now_rate is not None and old_rate and (old_rate - now_rate) / old_rate > threshold:
                channel["fell"].append(key)

    compare(this_week, previous_week, "activation_rate", "activation")
    compare(repeat_this_week or [], repeat_previous_week or [], REPEAT_KEY, "repeat")
    return [{"activation_before": None, "activation_after": None, "repeat_before": None, "repeat_after": None,
             **channel} for _name, channel in sorted(figures.items()) if channel["fell"]]


def _channel_alerts(day: date, rule: AlertRule) -> list[Alert]:
    """Last complete week's new customers against the week before's on activation, and — since ordering again
    takes time, and a young week always looks worse on it — the newest two weeks whose customers have all had 14
    days on repeat within 14 days (``repeat_week``: two weeks before the last complete one)."""
    week_from, week_to = _week_before(day)

    def channels(weeks_back: int) -> list[dict]:
        shift = timedelta(days=7 * weeks_back)
        return user_selectors.channel_quality(date_from=week_from - shift, date_to=week_to - shift)["channels"]

    repeat_week = week_from - timedelta(days=7 * REPEAT_WEEKS_BACK)
    drops = channel_quality_drops(this_week=channels(0), previous_week=channels(1),
                                  repeat_this_week=channels(REPEAT_WEEKS_BACK),
                                  repeat_previous_week=channels(REPEAT_WEEKS_BACK + 1),
                                  threshold=rule.threshold if rule.threshold is not None else 0.2,
                                  min_visitors=int(rule.options.get("min_visitors", 20)))
    return [Alert(kind=Alert.Kind.CHANNEL_QUALITY, severity=Alert.Severity.WARNING,
                  subject=f"channel:{drop['channel']}", day=week_from,
                  params={**drop, "week": week_from.isoformat(), "repeat_week": repeat_week.isoformat(),
                          "repeat_days": user_selectors.REPEAT_DAYS},
                  link=reverse("users:channels"),
                  audience_team_kind=Team.Kind.USER_OPS, audience_role=Role.USER_OPS.value)
            for drop in drops]


AT_RISK_NAMED = 5  # merchants named in a grouped alert; the tier page lists them all


def _at_risk_alerts(day: date, rule: AlertRule) -> list[Alert]:
    """One alert per owner for the merchants the nightly run moved to at-risk when it judged the last complete week
    before ``day`` (a bad week would otherwise bury the desk under one alert per merchant); unowned merchants go to
    every merchant operator. A week in progress moves no tier, so every day of a week names the same merchants as
    its Monday; changes by hand are not the night's findings."""
    week = last_complete_period(WEEK, today=day)
    changes = (merchant_selectors.tier_changes(direction="down").filter(period_start=week, to_tier=Tier.AT_RISK,
                                                                          changed_by=None)
               .order_by("merchant__code"))
    groups: dict[tuple, list] = {}
    for change in changes[:2000]:
        groups.setdefault((change.merchant.owner_id, change.period_start), []).append(change)
    alerts = []
    for (owner_id, week), group in groups.items():
        first = group[0]
        merchants = [{"id": change.merchant_id, "code": change.merchant.code, "name": change.merchant.name,
                      "from_tier": change.from_tier, "score": change.merchant.health_score} for change in group]
        link = (reverse("merchants:detail", args=[first.merchant_id]) if len(group) == 1
                else f"{reverse('merchants:tiers')}#moved-down")
        alerts.append(Alert(
            kind=Alert.Kind.MERCHANT_AT_RISK, severity=Alert.Severity.WARNING,
            subject=f"owner:{owner_id or 'none'}", day=week,
            params={**{key: merchants[0][key] for key in ("code", "name", "from_tier", "score")},
                    "week": week.isoformat(), "count": len(group),
                    "merchants": merchants[:int(rule.options.get("named", AT_RISK_NAMED))]},
            # an owned merchant's alert is its owner's alone; an unowned one is for every merchant operator
            link=link, audience_user_id=owner_id,
            audience_team_kind="" if owner_id else Team.Kind.MERCHANT_OPS,
            audience_role="" if owner_id else Role.MERCHANT_OPS.value))
    return alerts


def _tracking_alerts(day: date, rule: AlertRule) -> list[Alert]:
    week_from = day - timedelta(days=day.weekday())  # this week's Monday: one alert per ticket per week
    return [Alert(kind=Alert.Kind.TRACKING_VIOLATIONS, severity=Alert.Severity.WARNING,
                  subject=f"ticket:{row['ticket_id']}", day=week_from,
                  params={"key": row["key"], "title": row["title"], "bad": row["bad_events"], "kinds": row["kinds"],
                          "date_from": row["date_from"].isoformat(), "date_to": row["date_to"].isoformat()},
                  link=reverse("products:ticket", args=[row["ticket_id"]]),
                  audience_team_kind=Team.Kind.ANALYSTS, audience_role=Role.ANALYST.value,
                  audience_user_id=row["owner_pm_id"])
            for row in product_selectors.tracking_violations_on_launched()
            if row["bad_events"] >= (rule.threshold if rule.threshold is not None else 1)]


def _failed_run_alert(run: str, subject: str, started, error: str) -> Alert:
    local = timezone.localtime(started)
    return Alert(kind=Alert.Kind.RUN_FAILED, severity=Alert.Severity.CRITICAL, subject=f"{run}:{subject}",
                 day=local.date(), params={"run": run, "started": local.strftime("%Y-%m-%d %H:%M"),
                                           "error": (error or "")[:300]},
                 link=reverse("dashboard:home"), audience_team_kind=Team.Kind.ANALYSTS,
                 audience_role=Role.ANALYST.value)


def _run_alerts(day: date, rule: AlertRule) -> list[Alert]:
    alerts = []
    metrics = analytics_selectors.metrics_run_latest()
    if metrics is not None and metrics.status == "failed":
        alerts.append(_failed_run_alert("metrics", str(metrics.pk), metrics.started_at, metrics.error))
    refresh = user_selectors.customer_refresh_latest()
    if refresh is not None and refresh.status == "failed":
        alerts.append(_failed_run_alert("customers", str(refresh.pk), refresh.started_at, refresh.error))
    weekly = merchant_selectors.merchant_metrics_run_latest()
    if weekly is not None and weekly.status == "started" and (
            timezone.now() - weekly.started_at > timedelta(hours=float(rule.options.get("stuck_hours", 6)))):
        alerts.append(_failed_run_alert("merchants", weekly.period_start.isoformat(), weekly.started_at,
                                        "still running; left by a crash?"))
    return alerts


def failed_job_alerts_store(*, since) -> int:
    """The alerts of runs that failed and export jobs a dead worker stopped since ``since``, raised within minutes of
    the watchdog finding them (not the next night). Idempotent (one per run or job); returns how many are new.

    A failed AARRR run alerts the analysts, as the nightly rule does (the same alert: it is not raised twice); an
    export job alerts the person who asked for it, with a link to retry it."""
    rule = builtin_rule(AlertRule.Kind.RUN_FAILED)
    if not rule.enabled:
        return 0
    found = [_failed_run_alert("metrics", str(run.pk), run.started_at, run.error)
             for run in analytics_selectors.metrics_runs_failed_since(since=since)]
    for job in analytics_selectors.export_jobs_abandoned_since(since=since):
        local = timezone.localtime(job.created_at)
        found.append(Alert(kind=Alert.Kind.RUN_FAILED, severity=Alert.Severity.WARNING, subject=f"export:{job.pk}",
                           day=local.date(), params={"run": "export", "report": job.kind,
                                                     "started": local.strftime("%Y-%m-%d %H:%M"),
                                                     "error": job.error[:300]},
                           link=reverse("analytics:exports"), audience_user_id=job.created_by_id))
    if not found:
        return 0
    with transaction.atomic():
        before = Alert.objects.count()
        Alert.objects.bulk_create(found, ignore_conflicts=True, unique_fields=["kind", "subject", "day"])
        return Alert.objects.count() - before


BUILTIN = {AlertRule.Kind.CHANNEL_QUALITY: _channel_alerts, AlertRule.Kind.MERCHANT_AT_RISK: _at_risk_alerts,
           AlertRule.Kind.TRACKING_VIOLATIONS: _tracking_alerts, AlertRule.Kind.RUN_FAILED: _run_alerts}


def alerts_compute(*, day: date | None = None) -> AlertsResult:
    """Run every rule for ``day`` (today by default) and store what is new. Idempotent per (kind, subject, day)."""
    day = day or timezone.localdate()
    result = AlertsResult(day=day)
    found: list[Alert] = []
    for kind, check in BUILTIN.items():
        rule = builtin_rule(kind)
        if rule.enabled:
            found += check(day, rule)
    found += insight_rule_alerts(day)
    result.found = len(found)
    for alert in found:
        result.by_kind[alert.kind] = result.by_kind.get(alert.kind, 0) + 1
    with transaction.atomic():
        before = Alert.objects.count()
        # A rule may find more the same day (another merchant in the owner's week): the alert's details follow.
        Alert.objects.bulk_create(found, update_conflicts=True, unique_fields=["kind", "subject", "day"],
                                  update_fields=["params", "link"], batch_size=500)
        result.created = Alert.objects.count() - before
        to_email = notifications_create(alerts=[a for a in found if a.kind == Alert.Kind.INSIGHT_RULE])
    result.to_email = to_email  # the caller (task or command) queues them: desk.tasks.notification_emails_queue
    return result


def alert_acknowledge(*, user, alert_id: int) -> Alert:
    """Hide an alert from every desk it was on; only someone in its audience may (404 otherwise, as if unseen)."""
    with transaction.atomic():
        alert = alert_visible_to(user=user).select_for_update(of=("self",)).filter(pk=alert_id).first()
        if alert is None:
            raise ApplicationError(_("No such alert."), status_code=404, code="not_found")
        if alert.acknowledged_at is None:
            alert.acknowledged_by = user
            alert.acknowledged_at = timezone.now()
            alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return alert
