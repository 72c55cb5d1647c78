"""Merchant operations: the recruitment pipeline and its moves, the relationship log, recruitment targets,
nightly metrics snapshots, versioned tier rules and tier changes."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    CORE = "core", _("core")
    POTENTIAL = "potential", _("potential")
    ORDINARY = "ordinary", _("ordinary")
    AT_RISK = "at_risk", _("at risk")


class LossReason(models.Model):
    """The managed list of reasons a merchant was lost or terminated."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("offered"), default=True,
                                 help_text=_("Offered when a merchant is lost or terminated."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")

    def __str__(self) -> str:
        """In the reader's language when it is one of the starting reasons (merchants.labels), else as typed."""
        from ops_platform.core.labels import code_label

        return code_label("loss_reason", self.name)


class Merchant(models.Model):
    """A merchant on the platform. ``code`` is the ``merchant_id`` the platform sends in events."""

    class Stage(models.TextChoices):
        LEAD = "lead", _("lead")
        CONTACTED = "contacted", _("contacted")
        NEGOTIATING = "negotiating", _("negotiating")
        SIGNED = "signed", _("signed")
        LIVE = "live", _("live")
        PAUSED = "paused", _("paused")
        TERMINATED = "terminated", _("terminated")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100)
    city = models.CharField(_("city"), max_length=100)
    district = models.CharField(_("district"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_merchants",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When the merchant entered its current stage (stale flags), and when each stage was first reached.
    stage_changed_at = models.DateTimeField(_("in stage since"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    negotiating_at = models.DateTimeField(_("negotiating since"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    live_at = models.DateTimeField(_("live since"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    loss_reason = models.ForeignKey(LossReason, verbose_name=_("loss reason"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    loss_note = models.TextField(_("loss note"), blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, blank=True)
    tier_since = models.DateField(_("tier since"), null=True, blank=True)
    health_score = models.PositiveSmallIntegerField(_("health score"), null=True, blank=True)
    # What the operator expects the merchant to sell a month once live (their estimate, not a measurement).
    expected_monthly_gmv = models.DecimalField(_("expected monthly GMV"), max_digits=14, decimal_places=2, null=True,
                                               blank=True, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["code"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        indexes = [models.Index(fields=["stage", "stage_changed_at"]), models.Index(fields=["owner", "stage"]),
                   models.Index(fields=["tier"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


STAGE_DATE_FIELDS = {
    Merchant.Stage.CONTACTED: "contacted_at", Merchant.Stage.NEGOTIATING: "negotiating_at",
    Merchant.Stage.SIGNED: "signed_at", Merchant.Stage.LIVE: "live_at", Merchant.Stage.PAUSED: "paused_at",
    Merchant.Stage.TERMINATED: "terminated_at",
}


class StageSetting(models.Model):
    """A pipeline stage's "stale after N days" setting (admin-editable)."""

    stage = models.CharField(_("stage"), max_length=20, choices=Merchant.Stage.choices, unique=True)
    stale_after_days = models.PositiveSmallIntegerField(_("stale after (days)"),
                                                        validators=[MinValueValidator(1), MaxValueValidator(3650)])

    class Meta:
        ordering = ["stage"]
        verbose_name = _("stage setting")
        verbose_name_plural = _("stage settings")

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.stale_after_days}"


class MerchantStageMove(models.Model):
    """One move along the pipeline: who, when, from, to (and why, for losses)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stage_moves")
    from_stage = models.CharField(_("from"), max_length=20, choices=Merchant.Stage.choices)
    to_stage = models.CharField(_("to"), max_length=20, choices=Merchant.Stage.choices)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    moved_at = models.DateTimeField(_("moved at"))
    reason = models.ForeignKey(LossReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-moved_at", "-id"]
        verbose_name = _("stage move")
        verbose_name_plural = _("stage moves")

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"


class MerchantContact(models.Model):
    """The relationship log: one visit, call, message, training, meet-up or campaign invitation."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("visit")
        CALL = "call", _("call")
        MESSAGE = "message", _("message")
        TRAINING = "training", _("training")
        MEETUP = "meetup", _("offline meet-up")
        CAMPAIGN_INVITE = "campaign_invite", _("campaign invitation")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    notes = models.TextField(_("notes"), blank=True, max_length=10_000)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    happened_at = models.DateTimeField(_("when"))
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("follow-up done at"), null=True, blank=True)

    class Meta:
        ordering = ["-happened_at", "-id"]
        verbose_name = _("relationship log entry")
        verbose_name_plural = _("relationship log")
        indexes = [models.Index(fields=["follow_up_on", "follow_up_done_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.happened_at:%Y-%m-%d}"


class RecruitmentTarget(models.Model):
    """How many merchants to sign in a period, optionally for one category and/or city."""

    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    category = models.CharField(_("category"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    target = models.PositiveIntegerField(_("target"), validators=[MinValueValidator(1)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-period_start", "category", "city"]
        verbose_name = _("recruitment target")
        verbose_name_plural = _("recruitment targets")
        constraints = [
            models.UniqueConstraint(fields=["period_start", "period_end", "category", "city"],
                                    name="merchants_target_unique"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="merchants_target_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.period_start}–{self.period_end} {self.category} {self.city}: {self.target}"


class MerchantMetrics(models.Model):
    """A merchant's week (Monday..Sunday, local time) from the events: the nightly snapshot."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="metrics")
    period_start = models.DateField(_("week of"))
    days = models.PositiveSmallIntegerField(_("days counted"), default=7)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("GMV"), max_digits=14, decimal_places=2, default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    repeat_rate = models.FloatField(_("repeat-customer rate"), default=0)
    avg_rating = models.FloatField(_("average rating"), null=True, blank=True)
    review_count = models.PositiveIntegerField(_("reviews"), default=0)
    low_rating_share = models.FloatField(_("low-rating share"), default=0)
    orders_wow = models.FloatField(_("orders week over week"), null=True, blank=True)
    health_score = models.PositiveSmallIntegerField(_("health score"), default=0)
    # The tier in force during the week: for a complete week, after the week was judged (hysteresis included); for
    # the week in progress, the tier of the last complete week (a week so far never changes a tier).
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, blank=True)
    # What the complete week's figures alone point to, judged with the buffer band around the tier in force before
    # it; blank for the week in progress. A move needs ``TierRules.confirm_weeks`` such weeks in a row.
    indicated_tier = models.CharField(_("indicated tier"), max_length=20, choices=Tier.choices, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["merchant_id", "period_start"]
        verbose_name = _("merchant metrics")
        verbose_name_plural = _("merchant metrics")
        constraints = [models.UniqueConstraint(fields=["merchant", "period_start"], name="merchants_metrics_unique")]
        indexes = [models.Index(fields=["period_start", "tier"])]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.period_start}"

    @property
    def complete(self) -> bool:
        """Whether the row counts the whole week (the week had ended when it was computed)."""
        return self.days >= 7


class TierRules(models.Model):
    """One version of the tier thresholds. Saving in the admin makes a new version; the newest is in force."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    core_min_score = models.PositiveSmallIntegerField(_("core: minimum health score"), default=75,
                                                      validators=[MaxValueValidator(100)])
    core_min_orders = models.PositiveIntegerField(_("core: minimum weekly orders"), default=20)
    potential_min_score = models.PositiveSmallIntegerField(_("potential: minimum health score"), default=55,
                                                           validators=[MaxValueValidator(100)])
    potential_min_orders = models.PositiveIntegerField(_("potential: minimum weekly orders"), default=5)
    at_risk_max_score = models.PositiveSmallIntegerField(_("at risk: health score below"), default=35,
                                                         validators=[MaxValueValidator(100)])
    upgrade_margin = models.PositiveSmallIntegerField(
        _("upgrade candidate: within N points of core"), default=10, validators=[MaxValueValidator(100)])
    rotate_out_periods = models.PositiveSmallIntegerField(_("rotate out after N weeks at risk"), default=3,
                                                          validators=[MinValueValidator(1)])
    # Hysteresis: a merchant leaves its tier only when its health score passes a threshold by more than
    # ``buffer_points`` (and its weekly orders by more than ``buffer_orders`` percent), in each of ``confirm_weeks``
    # consecutive complete weeks. A merchant's first tier is given at once.
    buffer_points = models.PositiveSmallIntegerField(_("buffer: health points around each threshold"), default=10,
                                                     validators=[MaxValueValidator(50)])
    buffer_orders = models.PositiveSmallIntegerField(_("buffer: percent of weekly orders around each threshold"),
                                                     default=20, validators=[MaxValueValidator(100)])
    confirm_weeks = models.PositiveSmallIntegerField(_("complete weeks in a row to change tier"), default=2,
                                                     validators=[MinValueValidator(1), MaxValueValidator(8)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("tier rules")
        verbose_name_plural = _("tier rules")

    def __str__(self) -> str:
        return f"v{self.version}"


class MerchantTierChange(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.CharField(_("from"), max_length=20, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("to"), max_length=20, choices=Tier.choices)
    period_start = models.DateField(_("week of"))
    # A change by hand keeps the words its author gave (``reason``); a nightly change stores a code and its figures,
    # rendered in the reader's language (merchants.tier_reasons).
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason figures"), default=dict, blank=True)
    rules = models.ForeignKey(TierRules, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.from_tier} → {self.to_tier}"

    @property
    def reason_text(self) -> str:
        """The reason in the active language (a code's text), or the words given by hand."""
        from merchants.tier_reasons import tier_reason_text

        return tier_reason_text(self.reason_code, self.reason_params) if self.reason_code else self.reason


class MerchantMetricsRun(models.Model):
    """The nightly computation of one week: STARTED while running, DONE after; a STARTED row left by a crash is
    simply recomputed (the week is replaced in one transaction)."""

    class Status(models.TextChoices):
        STARTED = "started", _("started")
        DONE = "done", _("done")

    period_start = models.DateField(_("week of"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    merchants = models.PositiveIntegerField(_("merchants"), default=0)
    tier_changes = models.PositiveIntegerField(_("tier changes"), default=0)
    days = models.PositiveSmallIntegerField(_("days counted"), default=0)  # 7: the week was complete
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("merchant metrics run")
        verbose_name_plural = _("merchant metrics runs")

    def __str__(self) -> str:
        return f"{self.period_start} {self.status}"


# Growth and training


class Course(models.Model):
    """A course of the standard curriculum; ``required_for`` lists the tiers that must take it."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    required_for = models.JSONField(_("required for tiers"), default=list, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TrainingSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField(_("starts at"))
    trainer = models.CharField(_("trainer"), max_length=100)
    place = models.CharField(_("place"), max_length=200, blank=True)
    online = models.BooleanField(_("online"), default=False)
    capacity = models.PositiveIntegerField(_("capacity"), default=30, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")

    def __str__(self) -> str:
        return f"{self.course.code} {self.starts_at:%Y-%m-%d}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("enrolled")
        ATTENDED = "attended", _("attended")
        ABSENT = "absent", _("absent")

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="enrolments")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ENROLLED)
    enrolled_at = models.DateTimeField(_("enrolled at"))

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["session", "merchant"], name="merchants_enrolment_unique")]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.session_id} {self.status}"


class Certification(models.Model):
    """Granted once a merchant attended every course required for its tier (kept when the tier changes)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="certifications")
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices)
    certified_at = models.DateTimeField(_("certified at"))

    class Meta:
        ordering = ["-certified_at"]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        constraints = [models.UniqueConstraint(fields=["merchant", "tier"], name="merchants_certification_unique")]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.tier}"


# Campaigns


class Campaign(models.Model):
    class Kind(models.TextChoices):
        DISCOUNT = "discount", _("discount")
        COUPON = "coupon", _("coupon")
        FESTIVAL = "festival", _("festival")
        NEW_PRODUCT = "new_product", _("new product")
        TRAFFIC = "traffic", _("traffic boost")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2, default=0,
                                 validators=[MinValueValidator(0)])
    target_tiers = models.JSONField(_("target tiers"), default=list, blank=True)
    target_categories = models.JSONField(_("target categories"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                              name="merchants_campaign_period_ordered")]

    def __str__(self) -> str:
        return self.name


class CampaignInvite(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("invited")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        TOOK_PART = "took_part", _("took part")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invites")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="campaign_invites")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(_("invited at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)

    class Meta:
        ordering = ["campaign", "merchant__code"]
        verbose_name = _("campaign invitation")
        verbose_name_plural = _("campaign invitations")
        constraints = [models.UniqueConstraint(fields=["campaign", "merchant"], name="merchants_invite_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.merchant_id} {self.status}"
