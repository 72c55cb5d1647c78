"""User operations: the platform's end customers (never staff logins), their channels and life cycle.

``Customer`` rows are kept from the events by ``users.services.customers.customers_refresh`` (set-based, nightly and
on demand); nothing else writes them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    NEW = "new", _("new")
    ACTIVATED = "activated", _("activated")
    ACTIVE = "active", _("active")
    AT_RISK = "at_risk", _("at risk")
    CHURNED = "churned", _("churned")
    RESURRECTED = "resurrected", _("resurrected")


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("champions")
    LOYAL = "loyal", _("loyal")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("potential loyalists")
    NEW_CUSTOMERS = "new_customers", _("new customers")
    PROMISING = "promising", _("promising")
    NEED_ATTENTION = "need_attention", _("need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("about to sleep")
    AT_RISK = "at_risk", _("at risk")
    CANT_LOSE = "cant_lose", _("can't lose")
    HIBERNATING = "hibernating", _("hibernating")
    LOST = "lost", _("lost")


class Customer(models.Model):
    """One end customer, summarised from all their events. The key is the analytics person id."""

    person_id = models.BigIntegerField(primary_key=True)
    distinct_id = models.CharField(_("customer id"), max_length=200, unique=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    first_channel = models.CharField(_("first-touch channel"), max_length=100, blank=True, default="")
    utm_source = models.CharField(max_length=200, blank=True, default="")
    utm_medium = models.CharField(max_length=200, blank=True, default="")
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    signed_up_at = models.DateTimeField(_("signed up"), null=True, blank=True)
    referrer = models.CharField(_("referrer"), max_length=200, blank=True, default="")  # as the signup event says
    # The customer's own invite code (``invite_code_of``), set when the row is first written: a ``signup`` naming it
    # as ``referrer`` resolves to this customer.
    invite_code = models.CharField(_("invite code"), max_length=12, blank=True, default="")
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    spend = models.DecimalField(_("spend"), max_digits=14, decimal_places=2, default=0)
    stage = models.CharField(_("life-cycle stage"), max_length=20, choices=Stage.choices, default=Stage.NEW)
    previous_stage = models.CharField(max_length=20, blank=True, default="")  # held before the last change
    recency_score = models.PositiveSmallIntegerField(default=0)  # 1–5, 0 without orders
    frequency_score = models.PositiveSmallIntegerField(default=0)
    monetary_score = models.PositiveSmallIntegerField(default=0)
    rfm_segment = models.CharField(_("RFM segment"), max_length=30, choices=RfmSegment.choices, blank=True,
                                   default="")
    refreshed_at = models.DateTimeField()

    class Meta:
        # No index on stage or RFM segment (few values, counted by scans): the refresh changes them, and a row whose
        # indexed columns stay put is updated in place (HOT, pages left 20% free on PostgreSQL — migration 0006).
        ordering = ["-first_seen_at", "person_id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["first_seen_at"], name="customer_first_seen"),
            models.Index(fields=["first_channel", "first_seen_at"], name="customer_channel_seen"),
            models.Index(fields=["referrer"], name="customer_referrer"),
            models.Index(fields=["invite_code"], name="customer_invite_code"),
        ]

    def __str__(self) -> str:
        return self.distinct_id


class LifecycleSettings(models.Model):
    """The thresholds of the life-cycle stages (one row, pk=1), changed by administrators in the admin."""

    new_days = models.PositiveSmallIntegerField(
        _("new for (days)"), default=14, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A customer without orders first seen within this many days is new."))
    active_days = models.PositiveSmallIntegerField(
        _("active window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("An order within this many days makes a customer active (activated after a first order)."))
    churn_days = models.PositiveSmallIntegerField(
        _("churned after (days)"), default=45, validators=[MinValueValidator(2), MaxValueValidator(730)],
        help_text=_("No order for this many days: churned; between the active window and this: at risk. A customer "
                    "who never ordered is at risk while seen within the active window, churned after."))

    class Meta:
        verbose_name = _("life-cycle thresholds")
        verbose_name_plural = _("life-cycle thresholds")

    def __str__(self) -> str:
        return str(_("life-cycle thresholds"))

    def clean(self) -> None:
        if self.churn_days is not None and self.active_days is not None and self.churn_days <= self.active_days:
            raise ValidationError({"churn_days": _("Must be longer than the active window.")})


class CustomerRefresh(models.Model):
    """One run of the customer refresh (nightly or on demand), with its time."""

    class Status(models.TextChoices):
        STARTED = "started", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    trigger = models.CharField(max_length=20, default="manual")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    customers = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.status}"


class StageDaily(models.Model):
    """Customers per life-cycle stage on a day (the last refresh of that day)."""

    date = models.DateField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["date", "stage"]
        constraints = [models.UniqueConstraint(fields=["date", "stage"], name="stage_daily_date_stage")]

    def __str__(self) -> str:
        return f"{self.date} {self.stage}: {self.customers}"


class StageFlow(models.Model):
    """Customers who moved between stages on a day (``from_stage`` "" = first seen)."""

    date = models.DateField()
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["date", "from_stage", "to_stage"]
        constraints = [models.UniqueConstraint(fields=["date", "from_stage", "to_stage"], name="stage_flow_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.from_stage or '-'}→{self.to_stage}: {self.customers}"


class ChannelSpend(models.Model):
    """Money spent on an acquisition channel over a period (entered in the UI or imported)."""

    channel = models.CharField(_("channel"), max_length=100)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(_("spend"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(0)])
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "channel"]
        verbose_name = _("channel spend")
        verbose_name_plural = _("channel spend")
        constraints = [models.UniqueConstraint(fields=["channel", "period_start", "period_end"],
                                               name="channel_spend_period")]

    def __str__(self) -> str:
        return f"{self.channel} {self.period_start}…{self.period_end}"

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": _("Must not be before the start.")})


class Segment(models.Model):
    """A rule-based group of customers. ``rules`` is a nested AND/OR tree (users/services/segments.py), compiled to
    one query; ``segment_rebuild`` stores the members and the size of the day."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True, default="")
    rules = models.JSONField(_("rules"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    size = models.PositiveIntegerField(_("size"), null=True, blank=True)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    build_seconds = models.FloatField(_("build time (s)"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A customer in a segment as of its last build (a snapshot: coupons are issued to it).

    Kept cheap to write at a million members: the (segment, customer) pair is the primary key and the only index;
    no surrogate id, no per-row foreign-key checks (only ``segment_rebuild`` writes here, under a lock on the
    segment; deleting a segment still removes its members through Django's cascade).
    """

    pk = models.CompositePrimaryKey("segment_id", "customer_id")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members", db_constraint=False,
                                db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                 related_name="+")

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.customer_id}"


class SegmentSize(models.Model):
    """The size of a segment on a day (its last build that day) and how long the build took."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    date = models.DateField()
    size = models.PositiveIntegerField()
    build_seconds = models.FloatField()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["segment", "date"], name="segment_size_day")]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.date}: {self.size}"


class CouponCampaign(models.Model):
    """A coupon (代金券) campaign: what a code is worth, who gets it, and the money it may cost at most."""

    class Kind(models.TextChoices):
        NEW_USER = "new_user", _("new user")
        REPURCHASE = "repurchase", _("repurchase")
        WIN_BACK = "win_back", _("win-back")

    class DiscountType(models.TextChoices):
        AMOUNT = "amount", _("face value")
        PERCENT = "percent", _("percentage with a cap")

    class FundedBy(models.TextChoices):
        PLATFORM = "platform", _("platform")
        MERCHANT = "merchant", _("merchant share")

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    discount_type = models.CharField(_("discount"), max_length=10, choices=DiscountType.choices,
                                     default=DiscountType.AMOUNT)
    face_value = models.DecimalField(_("face value"), max_digits=10, decimal_places=2, default=0,
                                     validators=[MinValueValidator(0)])
    percent = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, default=0,
                                  validators=[MinValueValidator(0), MaxValueValidator(100)])
    cap = models.DecimalField(_("cap"), max_digits=10, decimal_places=2, default=0,
                              validators=[MinValueValidator(0)], help_text=_("Largest discount of a percentage code."))
    min_spend = models.DecimalField(_("minimum spend"), max_digits=10, decimal_places=2, default=0,
                                    validators=[MinValueValidator(0)])
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    budget = models.DecimalField(_("total budget"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(0)])
    per_customer_limit = models.PositiveSmallIntegerField(_("per-customer limit"), default=1,
                                                          validators=[MinValueValidator(1), MaxValueValidator(100)])
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns",
                                verbose_name=_("target segment"))
    holdout_share = models.DecimalField(_("holdout share"), max_digits=4, decimal_places=3, default=Decimal("0.1"),
                                        validators=[MinValueValidator(0), MaxValueValidator(Decimal("0.5"))])
    funded_by = models.CharField(_("funded by"), max_length=10, choices=FundedBy.choices,
                                 default=FundedBy.PLATFORM)
    merchant_share = models.DecimalField(_("merchant share"), max_digits=4, decimal_places=3, default=0,
                                         validators=[MinValueValidator(0), MaxValueValidator(1)])
    committed = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # worth of the codes issued
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("coupon campaign")
        verbose_name_plural = _("coupon campaigns")
        constraints = [
            # the last line of defence: issuing never commits more than the budget, whatever the code above does
            models.CheckConstraint(condition=models.Q(committed__lte=models.F("budget")),
                                   name="coupon_campaign_within_budget"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def code_value(self) -> Decimal:
        """What one code may cost at most (face value, or the cap of a percentage)."""
        return self.face_value if self.discount_type == self.DiscountType.AMOUNT else self.cap

    def clean(self) -> None:
        errors = {}
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            errors["valid_to"] = _("Must be after the start.")
        if self.discount_type == self.DiscountType.AMOUNT and not self.face_value:
            errors["face_value"] = _("Give the face value.")
        if self.discount_type == self.DiscountType.PERCENT and not (self.percent and self.cap):
            errors["cap"] = _("A percentage needs a percent and a cap.")
        if self.funded_by == self.FundedBy.MERCHANT and not self.merchant_share:
            errors["merchant_share"] = _("Give the merchant's share.")
        if errors:
            raise ValidationError(errors)


class Coupon(models.Model):
    """One unique code; ``customer`` is set when it is issued (``seq`` numbers a customer's codes in a campaign, so
    the per-customer limit is also a unique constraint)."""

    campaign = models.ForeignKey(CouponCampaign, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    seq = models.PositiveSmallIntegerField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer", "seq"], name="coupon_customer_seq")]
        indexes = [models.Index(fields=["campaign", "issued_at"], name="coupon_campaign_issued")]

    def __str__(self) -> str:
        return self.code


class CouponHoldout(models.Model):
    """A member of the target segment deliberately not issued a code (the control group)."""

    campaign = models.ForeignKey(CouponCampaign, on_delete=models.CASCADE, related_name="holdout")
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="coupon_holdout_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"


# How long a fraud rule watches before it says someone "never ordered": the referral rule judges referred sign-ups at
# least this old, the coupon rule redemptions at least this old (younger ones have not had the time to order again).
FRAUD_OBSERVATION_WINDOW = timedelta(days=14)


class CouponFraudReason(models.TextChoices):
    """Why a redemption is suspicious: the codes stored in ``CouponRedemption.reasons`` (and returned by the API),
    shown by their labels (the ``coupon_fraud_reason`` vocabulary, ops_platform/core/labels.py)."""

    USED_BY_ANOTHER_CUSTOMER = "used_by_another_customer", _("used by a customer it was not issued to")
    REDEEMED_RIGHT_AFTER_SIGNUP_NEVER_AGAIN = ("redeemed_right_after_signup_never_again",
                                               _("redeemed right after signing up, never ordered again"))
    MANY_ACCOUNTS_FROM_ONE_REFERRER = ("many_accounts_from_one_referrer",
                                       _("one referrer behind many redeeming accounts"))


class CouponRedemption(models.Model):
    """A paid order that used a code (read from ``order_paid.coupon_code``); suspicious ones are flagged.

    ``judge_from`` is set on a redemption made within an hour of signing up by a customer with no other order yet, but
    read less than ``FRAUD_OBSERVATION_WINDOW`` after it: too young to say they never ordered again, so not flagged
    for that; from ``judge_from`` on, reading the redemptions again judges it."""

    coupon = models.OneToOneField(Coupon, on_delete=models.CASCADE, related_name="redemption")
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    order_id = models.CharField(max_length=100)
    redeemed_at = models.DateTimeField()
    order_amount = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2)
    accepted = models.BooleanField(default=True)  # False: outside the rules (limit, window, minimum spend)
    suspicious = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True)  # CouponFraudReason codes
    judge_from = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at"]

    def __str__(self) -> str:
        return f"{self.coupon_id} {self.order_id}"
