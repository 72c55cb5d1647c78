"""The desk's own data: alerts from the nightly run and the weekly digest per team.

Nothing here stores translated text: an alert keeps its kind and parameters, a digest its numbers and codes, so
each reader sees them in their own language.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from desk.rendering import alert_message, alert_title
from goals.models import Team
from insights.models import Insight


class Alert(models.Model):
    """Something the nightly run found that someone should look at; one per (kind, subject, day)."""

    class Kind(models.TextChoices):
        CHANNEL_QUALITY = "channel_quality", _("channel quality dropped")
        MERCHANT_AT_RISK = "merchant_at_risk", _("merchant fell to at-risk")
        TRACKING_VIOLATIONS = "tracking_violations", _("tracking-plan violations")
        RUN_FAILED = "run_failed", _("nightly run failed")
        INSIGHT_RULE = "insight_rule", _("an alert rule fired")

    class Severity(models.TextChoices):
        INFO = "info", _("info")
        WARNING = "warning", _("warning")
        CRITICAL = "critical", _("critical")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.WARNING)
    subject = models.CharField(_("subject"), max_length=200)  # "channel:wechat", "merchant:12", "ticket:5", …
    day = models.DateField(_("day"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    audience_team_kind = models.CharField(_("team kind"), max_length=20, choices=Team.Kind.choices, blank=True)
    audience_role = models.CharField(_("role"), max_length=20, blank=True)
    audience_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("for"), null=True, blank=True,
                                      on_delete=models.CASCADE, related_name="+")
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("acknowledged by"), null=True,
                                        blank=True, on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [models.UniqueConstraint(fields=["kind", "subject", "day"], name="desk_alert_kind_subject_day")]
        indexes = [models.Index(fields=["acknowledged_at", "-day"], name="desk_alert_open")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.day}"

    @property
    def title(self) -> str:
        """In the active language (the reader's)."""
        return alert_title(self.kind, self.params)

    @property
    def message(self) -> str:
        return alert_message(self.kind, self.params)


class Digest(models.Model):
    """A team's week (Monday to Sunday) as a snapshot: goals with pace, movements and the week's alerts."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="digests", verbose_name=_("team"))
    week = models.DateField(_("week of"))  # the Monday
    content = models.JSONField(_("content"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    emailed_to = models.PositiveIntegerField(_("e-mailed to"), default=0)

    class Meta:
        ordering = ["-week", "team__name"]
        verbose_name = _("weekly digest")
        verbose_name_plural = _("weekly digests")
        constraints = [models.UniqueConstraint(fields=["team", "week"], name="desk_digest_team_week")]

    def __str__(self) -> str:
        return f"{self.team} {self.week}"



class DigestDelivery(models.Model):
    """One member's copy of a digest, recorded (and committed) right after their e-mail went out, so a retried
    send skips whoever already has it."""

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("digest"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("member"))
    email = models.EmailField(_("e-mail"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["digest", "sent_at"]
        verbose_name = _("digest delivery")
        verbose_name_plural = _("digest deliveries")
        constraints = [models.UniqueConstraint(fields=["digest", "user"], name="desk_digestdelivery_digest_user")]

    def __str__(self) -> str:
        return f"{self.digest} → {self.user}"


class AlertRule(models.Model):
    """What makes an alert: one of the built-in checks of the night (channel quality, merchants at risk, tracking
    violations, failed runs: one row each, which administrators change or switch off), or a rule someone set on a
    saved insight — its figure above or below a value, or changed by more than a share against the previous
    complete period. Checked after the nightly run (04:30), on complete periods only."""

    class Kind(models.TextChoices):
        CHANNEL_QUALITY = "channel_quality", _("channel quality dropped")
        MERCHANT_AT_RISK = "merchant_at_risk", _("merchant fell to at-risk")
        TRACKING_VIOLATIONS = "tracking_violations", _("tracking-plan violations")
        RUN_FAILED = "run_failed", _("nightly run failed")
        INSIGHT = "insight", _("on a saved insight")

    class Condition(models.TextChoices):
        ABOVE = "above", _("is above")
        BELOW = "below", _("is below")
        CHANGE = "change", _("changes by more than (share) against the previous period")
        DROP = "drop", _("falls by more than (share) against the previous period")

    class Period(models.TextChoices):
        DAY = "day", _("day")
        WEEK = "week", _("week")
        MONTH = "month", _("month")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, default=Kind.INSIGHT)
    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("on"), default=True)
    insight = models.ForeignKey(Insight, verbose_name=_("insight"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    metric = models.CharField(_("figure"), max_length=40, blank=True, default="")
    condition = models.CharField(_("when it"), max_length=10, choices=Condition.choices, blank=True, default="")
    threshold = models.FloatField(_("value"), null=True, blank=True)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.WEEK)
    options = models.JSONField(_("options"), default=dict, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Alert.Severity.choices,
                                default=Alert.Severity.WARNING)
    email = models.BooleanField(_("also e-mail me"), default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=~models.Q(kind="insight"),
                                    name="alert_rule_builtin_once"),
            models.CheckConstraint(condition=~models.Q(kind="insight") | models.Q(insight__isnull=False),
                                   name="alert_rule_insight_has_insight"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def builtin(self) -> bool:
        return self.kind != self.Kind.INSIGHT


class AlertNotification(models.Model):
    """A person told of an alert (a rule they set fired): in their notifications until read, and e-mailed once when
    the rule asks (``emailed_at`` is set under a row lock right after the send)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["alert", "recipient"], name="alert_notification_once")]
        indexes = [models.Index(fields=["recipient", "read_at"], name="alert_notification_unread")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.recipient_id}"
