"""Alert rules: the four built-in checks of the night (thresholds and switches that administrators change) and the
rules people set on their saved insights, checked after the nightly run on complete periods only.

A rule on an insight watches one figure of it (an AARRR stage, a funnel's conversion, a segment's size, a report's
headline number) over the last complete day, week or month — for a funnel, the last whose entrants' conversion
window has also passed — against a value (above / below) or against the period before (a change or a drop by more
than a share). Firing stores a desk alert for the rule's owner (one per rule and period: unique), a notification,
and, when the rule asks, one e-mail (never two: ``emailed_at`` under a row lock).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from desk.models import Alert, AlertNotification, AlertRule
from desk.selectors import alert_rule_can_change
from insights import selectors as insight_selectors
from insights.services.insights import insight_answer_check
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.reports import report_kind

BUILTIN_DEFAULTS = {  # what a fresh install starts with (migration 0004); administrators change them
    AlertRule.Kind.CHANNEL_QUALITY: {"condition": AlertRule.Condition.DROP, "threshold": 0.2,
                                     "options": {"min_visitors": 20}},
    AlertRule.Kind.MERCHANT_AT_RISK: {"options": {"named": 5}},
    AlertRule.Kind.TRACKING_VIOLATIONS: {"threshold": 1},
    AlertRule.Kind.RUN_FAILED: {"options": {"stuck_hours": 6}},
}
MAX_RULES_PER_PERSON = 100


def builtin_rule(kind: str) -> AlertRule:
    """The built-in rule of a kind (made with its defaults if an administrator deleted it in /admin/)."""
    rule = AlertRule.objects.filter(kind=kind).first()
    if rule is None:
        defaults = BUILTIN_DEFAULTS[AlertRule.Kind(kind)]
        rule = AlertRule(kind=kind, name=str(AlertRule.Kind(kind).label), enabled=True, **defaults)
    return rule


def _check(*, kind: str, metric: str, condition: str, threshold, period: str) -> None:
    errors = {}
    if metric not in insight_selectors.alert_metrics(kind=kind):
        errors["metric"] = [_("Choose one of: %(metrics)s.") % {
            "metrics": ", ".join(insight_selectors.alert_metrics(kind=kind))}]
    if condition not in AlertRule.Condition.values:
        errors["condition"] = [_("Choose above, below, change or drop.")]
    if threshold is None:
        errors["threshold"] = [_("Enter the value to compare with.")]
    elif condition in {AlertRule.Condition.CHANGE, AlertRule.Condition.DROP} and not 0 < float(threshold) <= 100:
        errors["threshold"] = [_("Enter the share as a ratio above 0, e.g. 0.2 for 20 %.")]
    if period not in AlertRule.Period.values:
        errors["period"] = [_("Choose day, week or month.")]
    if errors:
        raise ApplicationError(_("The rule is not complete; see the fields."), errors=errors)


def alert_rule_create(*, user, insight_id: int, metric: str, condition: str, threshold: float, period: str,
                      name: str = "", email: bool = False) -> AlertRule:
    insight = insight_selectors.insight_get(user=user, insight_id=insight_id)
    if insight is None:
        raise ApplicationError(_("No such insight."), errors={"insight": [_("Choose an insight you read.")]})
    insight_answer_check(user=user, insight=insight)  # its figures would reach them in the alert
    kind = report_kind(insight.kind)
    if kind is None or not kind.dated:
        raise ApplicationError(_("This report has no dates: an alert needs figures per period."),
                               errors={"insight": [_("Choose an insight over a date range.")]})
    _check(kind=insight.kind, metric=metric, condition=condition, threshold=threshold, period=period)
    if AlertRule.objects.filter(owner=user).count() >= MAX_RULES_PER_PERSON:
        raise ApplicationError(_("You have 100 alert rules; delete one first."), code="too_many")
    rule = AlertRule(kind=AlertRule.Kind.INSIGHT, insight=insight, metric=metric, condition=condition,
                     threshold=float(threshold), period=period, email=bool(email), owner=user,
                     name=(name or "").strip() or insight.name[:200])
    rule.full_clean()
    rule.save()
    return rule


UNSET = object()


def alert_rule_update(*, user, rule: AlertRule, enabled=UNSET, threshold=UNSET, condition=UNSET, metric=UNSET,
                      period=UNSET, email=UNSET, name=UNSET, options=UNSET) -> AlertRule:
    """Owners change their rules; administrators change any, the built-in ones included (switch, threshold)."""
    if not alert_rule_can_change(user=user, rule=rule):
        raise ApplicationError(_("Only administrators change the built-in rules, and only its owner changes a "
                                 "rule on an insight."), status_code=403, code="permission_denied")
    for field, value in (("enabled", enabled), ("threshold", threshold), ("condition", condition),
                         ("metric", metric), ("period", period), ("email", email), ("name", name),
                         ("options", options)):
        if value is not UNSET:
            setattr(rule, field, value)
    if rule.kind == AlertRule.Kind.INSIGHT:
        _check(kind=rule.insight.kind, metric=rule.metric, condition=rule.condition, threshold=rule.threshold,
               period=rule.period)
    elif rule.threshold is not None and rule.threshold < 0:
        raise ApplicationError(_("Enter a value of 0 or more."), errors={"threshold": [_("0 or more.")]})
    rule.full_clean()
    rule.save()
    return rule


def alert_rule_delete(*, user, rule: AlertRule) -> None:
    if rule.builtin:
        raise ApplicationError(_("A built-in rule is switched off, not deleted."), status_code=403,
                               code="permission_denied")
    if not alert_rule_can_change(user=user, rule=rule):
        raise ApplicationError(_("Only its owner or an administrator deletes a rule."), status_code=403,
                               code="permission_denied")
    rule.delete()


# Checking


def rule_fires(*, condition: str, threshold: float, value, previous) -> tuple[bool, float | None]:
    """Whether the figure trips the rule, and its relative change against the previous period (None when that was
    0 or missing: a change from nothing is not a percentage, so change and drop rules do not fire on it)."""
    change = (value - previous) / previous if value is not None and previous else None
    if value is None:
        return False, change
    if condition == AlertRule.Condition.ABOVE:
        return value > threshold, change
    if condition == AlertRule.Condition.BELOW:
        return value < threshold, change
    if change is None:
        return False, change
    if condition == AlertRule.Condition.DROP:
        return -change > threshold, change
    return abs(change) > threshold, change


def insight_rule_alerts(day: date) -> list[Alert]:
    """The rules on insights that fire on their last complete period as of ``day`` (their owner must still read the
    insight). One report run per rule and period."""
    alerts = []
    rules = AlertRule.objects.filter(kind=AlertRule.Kind.INSIGHT, enabled=True).select_related("insight", "owner")
    for rule in rules.order_by("pk"):
        if rule.owner is None or not rule.owner.is_active:
            continue
        if insight_selectors.insight_get(user=rule.owner, insight_id=rule.insight_id) is None:
            continue
        try:
            insight_answer_check(user=rule.owner, insight=rule.insight)
        except ApplicationError:  # restricted to a segment the owner's role may no longer see
            continue
        values = insight_selectors.insight_period_values(insight=rule.insight, metric=rule.metric,
                                                         period=rule.period, today=day)
        if values is None:
            continue
        fired, change = rule_fires(condition=rule.condition, threshold=rule.threshold, value=values["value"],
                                   previous=values["previous"])
        if not fired:
            continue
        alerts.append(Alert(
            kind=Alert.Kind.INSIGHT_RULE, severity=rule.severity, subject=f"rule:{rule.pk}",
            day=values["period_start"], link=reverse("insights:detail", args=[rule.insight_id]),
            audience_user_id=rule.owner_id,
            params={"rule": rule.name, "rule_id": rule.pk, "insight": rule.insight.name,
                    "insight_id": rule.insight_id, "metric": rule.metric, "condition": rule.condition,
                    "threshold": rule.threshold, "period": rule.period,
                    "period_start": values["period_start"].isoformat(),
                    "period_end": values["period_end"].isoformat(), "value": values["value"],
                    "previous": values["previous"], "change": change, "email": rule.email}))
    return alerts


def notifications_create(*, alerts: list[Alert]) -> list[int]:
    """A notification for the owner of each fired rule (once per alert); returns those to e-mail."""
    stored = Alert.objects.filter(kind=Alert.Kind.INSIGHT_RULE,
                                  subject__in=[a.subject for a in alerts], day__in=[a.day for a in alerts])
    wanted = {(a.subject, a.day) for a in alerts}
    notes = [AlertNotification(alert=alert, recipient_id=alert.audience_user_id, email=bool(alert.params.get("email")))
             for alert in stored if (alert.subject, alert.day) in wanted and alert.audience_user_id]
    AlertNotification.objects.bulk_create(notes, ignore_conflicts=True)
    return list(AlertNotification.objects.filter(alert__in=stored, email=True, emailed_at__isnull=True)
                .values_list("pk", flat=True))


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification in its recipient's language, once (the row is locked and marked in the same
    transaction as the send). True if sent."""
    with transaction.atomic():
        note = (AlertNotification.objects.select_for_update().select_related("alert", "recipient")
                .filter(pk=notification_id).first())
        if note is None or note.emailed_at is not None or not note.recipient.email:
            return False
        with translation.override(note.recipient.language or settings.LANGUAGE_CODE):
            alert = note.alert
            body = f"{alert.message}\n\n{settings.SITE_URL}{alert.link}\n"
            send_mail(subject=_("Alert: %(title)s") % {"title": alert.title}, message=body,
                      from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[note.recipient.email])
        note.emailed_at = timezone.now()
        note.save(update_fields=["emailed_at"])
    return True


def notifications_read(*, user, ids: list[int] | None = None) -> int:
    notes = AlertNotification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        notes = notes.filter(pk__in=ids)
    return notes.update(read_at=timezone.now())
