"""Saved insights, dashboards of them, their cached results, subscriptions and annotations.

An insight is a report kind (ops_platform/core/reports.py) with its exact query parameters, kept as the report's
API takes them, so it is evaluated by the report's own parser and selector. Nothing here stores translated text.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from goals.models import Team


class Visibility(models.TextChoices):
    PRIVATE = "private", _("only me")
    TEAM = "team", _("my team")
    EVERYONE = "everyone", _("everyone")


class Insight(models.Model):
    """A report saved with its parameters: ``params`` is the report's query string as ``{name: [values]}``; with a
    relative ``date_range`` ("last_30_days") the dates are left out and resolved each time it is read."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    kind = models.CharField(_("report"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    date_range = models.CharField(_("date range"), max_length=30, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="insights")
    visibility = models.CharField(_("visible to"), max_length=10, choices=Visibility.choices,
                                  default=Visibility.PRIVATE)
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("insight")
        verbose_name_plural = _("insights")
        indexes = [models.Index(fields=["visibility", "kind"], name="insight_visibility_kind")]
        constraints = [models.CheckConstraint(condition=~Q(visibility="team") | Q(team__isnull=False),
                                              name="insight_team_visibility_has_team")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the reader's language when the platform made it (insights.labels), else as typed."""
        from insights.labels import insight_display_name

        return insight_display_name(self)


class InsightResult(models.Model):
    """A report's answer for one exact query (kind and parameters, dates resolved), with when it was computed.
    Shared by every insight and tile that asks the same; replaced when recomputed (unique ``key``)."""

    key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=40)
    query = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["computed_at"], name="insight_result_computed")]

    def __str__(self) -> str:
        return f"{self.kind} {self.computed_at:%Y-%m-%d %H:%M}"


class Dashboard(models.Model):
    """A named grid of insights, a team's or one person's. Its date range (relative words or fixed dates) and its
    segment, when set, override those of every tile that takes them."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="dashboards")
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="dashboards")
    pinned = models.BooleanField(_("on the team's home page"), default=False)
    team_digest = models.BooleanField(_("the team's weekly digest"), default=False)
    date_range = models.CharField(_("date range"), max_length=30, blank=True, default="")
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    segment = models.ForeignKey("users.Segment", verbose_name=_("segment"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        constraints = [
            models.UniqueConstraint(fields=["team"], condition=Q(pinned=True), name="dashboard_one_pinned_per_team"),
            models.CheckConstraint(condition=Q(pinned=False) | Q(team__isnull=False), name="dashboard_pinned_has_team"),
            models.UniqueConstraint(fields=["team"], condition=Q(team_digest=True),
                                    name="dashboard_one_digest_per_team"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the reader's language while it is the one the platform gave (insights.labels)."""
        from insights.labels import dashboard_display_name

        return dashboard_display_name(self)

    @property
    def display_description(self) -> str:
        from insights.labels import dashboard_display_description

        return dashboard_display_description(self)


class DashboardTile(models.Model):
    class Display(models.TextChoices):
        CHART = "chart", _("chart")
        NUMBER = "number", _("number")

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="tiles")
    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="tiles")
    position = models.PositiveIntegerField(default=0)
    display = models.CharField(_("display"), max_length=10, choices=Display.choices, default=Display.CHART)
    wide = models.BooleanField(_("wide"), default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.dashboard_id}#{self.position} {self.insight_id}"


class Annotation(models.Model):
    """A note on a date (a holiday, an outage, a competitor's campaign), drawn on every time chart."""

    date = models.DateField(_("date"))
    text = models.CharField(_("text"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("annotation")
        verbose_name_plural = _("annotations")
        indexes = [models.Index(fields=["date"], name="annotation_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.text}"


class Subscription(models.Model):
    """An insight or a dashboard e-mailed on a schedule (daily at a time, or weekly on a day at a time, in
    TIME_ZONE) to staff, each in their own language, with the figures in the body and the data as XLSX."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")

    insight = models.ForeignKey(Insight, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions")
    dashboard = models.ForeignKey(Dashboard, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="subscriptions")
    frequency = models.CharField(_("how often"), max_length=10, choices=Frequency.choices,
                                 default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(_("weekday"), default=0)  # 0 = Monday, for weekly ones
    time = models.TimeField(_("at"))
    date_range = models.CharField(_("date range"), max_length=30, blank=True, default="")
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                        verbose_name=_("recipients"))
    team = models.ForeignKey(Team, verbose_name=_("the team's members"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    next_run_at = models.DateTimeField(_("next e-mail"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["next_run_at", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [models.CheckConstraint(
            condition=(Q(insight__isnull=False) & Q(dashboard__isnull=True))
            | (Q(insight__isnull=True) & Q(dashboard__isnull=False)), name="subscription_one_target")]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="subscription_due")]

    def __str__(self) -> str:
        return f"{self.insight or self.dashboard} {self.frequency}"


class SubscriptionRun(models.Model):
    """One scheduled sending of a subscription (unique per slot, so a retried or doubled task sends it once)."""

    class Status(models.TextChoices):
        STARTED = "started", _("started")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="runs")
    slot = models.DateTimeField(_("scheduled for"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.STARTED)
    sent = models.PositiveIntegerField(_("e-mails sent"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-slot", "-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "slot"], name="subscription_run_slot")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.slot}"


class SubscriptionDelivery(models.Model):
    """One reader's e-mail of a run, recorded (and committed) right after it went out: a retry skips them."""

    run = models.ForeignKey(SubscriptionRun, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=10)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["run", "sent_at"]
        constraints = [models.UniqueConstraint(fields=["run", "user"], name="subscription_delivery_run_user")]

    def __str__(self) -> str:
        return f"{self.run} → {self.user_id}"
