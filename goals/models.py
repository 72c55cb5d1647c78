"""Teams and their members: who works together, who leads. Goals hang off them (company → team → personal).

The ``goals`` app sits above the domain apps: it reads merchants, users, products and analytics through their
selectors to measure progress; no domain app imports it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from goals.periods import PERIOD_MAX, PERIOD_MIN, is_period_start, period_end_of


class Team(models.Model):
    """An operations team as the company arranges it (merchant ops, user ops, product ops, analysts, PMs)."""

    class Kind(models.TextChoices):
        MERCHANT_OPS = "merchant_ops", _("merchant operations")
        USER_OPS = "user_ops", _("user operations")
        PRODUCT_OPS = "product_ops", _("product operations")
        ANALYSTS = "analysts", _("analysts")
        PMS = "pms", _("product managers")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", verbose_name=_("members"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A staff member in a team; a lead sets the team's goals and sees each member's load."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships", verbose_name=_("member"),
    )
    is_lead = models.BooleanField(_("lead"), default=False)
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        ordering = ["team", "-is_lead", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="goals_membership_unique")]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"


class Metric(models.TextChoices):
    """What a goal can be set on: metrics the platform already computes (goals/metrics.py measures each)."""

    ACQUISITION = "acquisition", _("new customers (acquisition)")
    ACTIVATION = "activation", _("sign-ups (activation)")
    RETENTION = "retention", _("repeat orders (retention)")
    REVENUE = "revenue", _("revenue")
    PAYING_CUSTOMERS = "paying_customers", _("paying customers")
    REFERRAL = "referral", _("referred sign-ups (referral)")
    MERCHANTS_SIGNED = "merchants_signed", _("merchants signed")
    MERCHANTS_LIVE = "merchants_live", _("merchants gone live")
    MERCHANTS_CORE = "merchants_core", _("merchants in the core tier")
    COUPON_ROI = "coupon_roi", _("coupon ROI")
    SEGMENT_SIZE = "segment_size", _("segment size")
    TICKETS_SUCCESS = "tickets_success", _("tickets concluded with success")
    ACTIVATION_RATE = "activation_rate", _("activation rate (sign-ups per new customer)")
    REPEAT_RATE = "repeat_rate", _("repeat rate (repeat buyers per paying customer)")


# Metrics counted over the period (sums), measured at a date (levels) or a ratio over the period's complete days
# (rates). Levels and rates start from a baseline.
CHANNEL_METRICS = frozenset({Metric.ACQUISITION, Metric.ACTIVATION, Metric.RETENTION, Metric.REVENUE,
                             Metric.PAYING_CUSTOMERS, Metric.REFERRAL, Metric.ACTIVATION_RATE, Metric.REPEAT_RATE})
LEVEL_METRICS = frozenset({Metric.MERCHANTS_CORE, Metric.SEGMENT_SIZE})
RATE_METRICS = frozenset({Metric.ACTIVATION_RATE, Metric.REPEAT_RATE, Metric.COUPON_ROI})
PERCENT_METRICS = frozenset({Metric.ACTIVATION_RATE, Metric.REPEAT_RATE})  # in percent, 0–100
BASELINE_METRICS = LEVEL_METRICS | RATE_METRICS


class Goal(models.Model):
    """A target on a metric for a month or a quarter: the company's, a team's or one person's.

    Company goals sit at the top; team goals hang under a company goal, personal goals under a team goal, within
    the parent's period. Validation (``clean``) gives field-level messages; goals.services writes goals.
    """

    class Level(models.TextChoices):
        COMPANY = "company", _("company")
        TEAM = "team", _("team")
        PERSONAL = "personal", _("personal")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")

    title = models.CharField(_("title"), max_length=200)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
                               verbose_name=_("parent goal"))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="goals",
                             verbose_name=_("team"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="personal_goals", verbose_name=_("owner"))
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    channel = models.CharField(_("channel"), max_length=100, blank=True)
    segment = models.ForeignKey("users.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("segment"))
    coupon_campaign = models.ForeignKey("users.CouponCampaign", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", verbose_name=_("coupon campaign"))
    target = models.DecimalField(_("target"), max_digits=16, decimal_places=2)
    baseline = models.DecimalField(_("baseline"), max_digits=16, decimal_places=2, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["period_start", "level", "title", "id"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        indexes = [models.Index(fields=["period_start", "period_end"], name="goals_goal_period")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_level_metric(self) -> bool:
        return self.metric in LEVEL_METRICS

    @property
    def has_baseline(self) -> bool:
        """Levels and rates start from a baseline; sums start from 0."""
        return self.metric in BASELINE_METRICS

    def clean(self) -> None:
        errors: dict[str, str] = {}
        self._clean_period(errors)
        self._clean_level(errors)
        self._clean_metric(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_period(self, errors: dict) -> None:
        if not self.period_start:
            return
        if not PERIOD_MIN <= self.period_start <= PERIOD_MAX:
            errors["period_start"] = _("Choose a period between %(first)s and %(last)s.") % {
                "first": PERIOD_MIN.year, "last": PERIOD_MAX.year}
            return
        if not is_period_start(kind=self.period_kind, day=self.period_start):
            errors["period_start"] = (_("A quarter starts on 1 January, April, July or October.")
                                      if self.period_kind == self.PeriodKind.QUARTER
                                      else _("A month starts on its first day."))
        elif self.period_end and self.period_end != period_end_of(kind=self.period_kind, start=self.period_start):
            errors["period_end"] = _("The period ends on the last day of its month or quarter.")

    def _clean_level(self, errors: dict) -> None:
        parent = self.parent if self.parent_id else None
        if self.level == self.Level.COMPANY:
            for field in ("team", "owner", "parent"):
                if getattr(self, f"{field}_id"):
                    errors[field] = _("A company goal has no team, owner or parent goal.")
        elif self.level == self.Level.TEAM:
            if not self.team_id:
                errors["team"] = _("A team goal needs its team.")
            if self.owner_id:
                errors["owner"] = _("A team goal has no owner; set a personal goal instead.")
            if parent is not None and parent.level != self.Level.COMPANY:
                errors["parent"] = _("A team goal sits under a company goal.")
        elif self.level == self.Level.PERSONAL:
            if not self.owner_id:
                errors["owner"] = _("A personal goal needs its owner.")
            if not self.team_id:
                errors["team"] = _("A personal goal counts toward one of its owner's teams.")
            elif self.owner_id and not TeamMembership.objects.filter(team_id=self.team_id,
                                                                     user_id=self.owner_id).exists():
                errors["owner"] = _("The owner is not a member of this team.")
            if parent is not None and (parent.level != self.Level.TEAM or parent.team_id != self.team_id):
                errors["parent"] = _("A personal goal sits under a goal of its team.")
        if parent is not None and "parent" not in errors and self.period_start and self.period_end and not (
                parent.period_start <= self.period_start and self.period_end <= parent.period_end):
            errors["parent"] = _("The goal's period must lie within its parent's period.")
        if parent is not None and self.pk and parent.pk == self.pk:
            errors["parent"] = _("A goal cannot be its own parent.")

    def _clean_metric(self, errors: dict) -> None:
        if self.channel and self.metric not in CHANNEL_METRICS:
            errors["channel"] = _("Only the AARRR metrics can be limited to a channel.")
        if self.metric == Metric.SEGMENT_SIZE and not self.segment_id:
            errors["segment"] = _("Choose the segment whose size is the target.")
        if self.segment_id and self.metric != Metric.SEGMENT_SIZE:
            errors["segment"] = _("Only the segment-size metric takes a segment.")
        if self.coupon_campaign_id and self.metric != Metric.COUPON_ROI:
            errors["coupon_campaign"] = _("Only the coupon-ROI metric takes a coupon campaign.")
        if self.metric in BASELINE_METRICS:
            if self.baseline is None:
                errors["baseline"] = _("This metric is a level: give the value the period starts from.")
            elif self.target is not None and self.target == self.baseline:
                errors["target"] = _("The target must differ from the baseline.")
            if self.metric in PERCENT_METRICS:
                for field in ("target", "baseline"):
                    value = getattr(self, field)
                    if value is not None and not 0 <= value <= 100 and field not in errors:
                        errors[field] = _("A rate is a percentage between 0 and 100.")
        elif self.metric:
            if self.baseline is not None:
                errors["baseline"] = _("This metric adds up over the period; it has no baseline.")
            if self.target is not None and self.target <= 0:
                errors["target"] = _("The target must be greater than zero.")


class GoalProgress(models.Model):
    """A goal's value on a day and the value expected by then at an even pace (nightly, idempotent upsert)."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="progress", verbose_name=_("goal"))
    date = models.DateField(_("date"))
    value = models.FloatField(_("value"))
    expected = models.FloatField(_("expected"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        ordering = ["goal", "date"]
        constraints = [models.UniqueConstraint(fields=["goal", "date"], name="goals_progress_goal_date")]
        verbose_name = _("goal progress")
        verbose_name_plural = _("goal progress")

    def __str__(self) -> str:
        return f"{self.goal_id} {self.date}: {self.value}"
