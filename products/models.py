"""Requirement tickets and the product-operations loop around them: workflow moves, comments, watchers,
notifications, field history, attachments, tracking plans (打點) and their checks, launch impact, feedback."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Ticket(models.Model):
    """A requirement ticket (REQ-123) moving through the product loop."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        TRIAGED = "triaged", _("triaged")
        DESIGNING = "designing", _("designing")
        IN_DEVELOPMENT = "in_development", _("in development")
        TESTING = "testing", _("testing")
        READY_TO_LAUNCH = "ready_to_launch", _("ready to launch")
        LAUNCHED = "launched", _("launched")
        ANALYSING = "analysing", _("analysing")
        CONCLUDED = "concluded", _("concluded")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    CLOSED_STATUSES = (Status.CONCLUDED, Status.REJECTED, Status.CANCELLED)

    class Kind(models.TextChoices):
        FEATURE = "feature", _("feature")
        IMPROVEMENT = "improvement", _("improvement")
        BUG = "bug", _("bug")
        CAMPAIGN_SUPPORT = "campaign_support", _("campaign support")
        DATA_REQUEST = "data_request", _("data request")

    class Priority(models.IntegerChoices):
        LOW = 1, _("low")
        MEDIUM = 2, _("medium")
        HIGH = 3, _("high")
        URGENT = 4, _("urgent")

    class Stage(models.TextChoices):
        ACQUISITION = "acquisition", _("Acquisition")
        ACTIVATION = "activation", _("Activation")
        RETENTION = "retention", _("Retention")
        REVENUE = "revenue", _("Revenue")
        REFERRAL = "referral", _("Referral")

    class Metric(models.TextChoices):
        SIGNUP_RATE = "signup_rate", _("sign-up rate (visitors who sign up)")
        ORDER_RATE = "order_rate", _("order rate (visitors who pay an order)")
        CART_RATE = "cart_rate", _("add-to-cart rate (merchant viewers who add to cart)")
        REVIEW_RATE = "review_rate", _("review rate (received orders reviewed)")
        REVENUE_PER_CUSTOMER = "revenue_per_customer", _("revenue per visiting customer")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        NEUTRAL = "neutral", _("neutral")
        FAILURE = "failure", _("failure")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FEATURE)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requester"), null=True, on_delete=models.SET_NULL,
        related_name="requested_tickets",
    )
    owner_pm = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner PM"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_tickets",
    )
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("assignees"), blank=True,
                                       related_name="assigned_tickets")
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("watchers"), blank=True,
                                      related_name="watched_tickets")
    aarrr_stage = models.CharField(_("AARRR stage"), max_length=20, choices=Stage.choices, blank=True)
    target_metric = models.CharField(_("target metric"), max_length=30, choices=Metric.choices, blank=True)
    expected_change = models.CharField(_("expected change"), max_length=200, blank=True,
                                       help_text=_("The hypothesis, e.g. “sign-up rate +2 points”."))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    labels = models.JSONField(_("labels"), default=list, blank=True)
    # Links to merchants (by code), segments or campaigns: [{"kind": "merchant", "ref": "M00012"}, …].
    links = models.JSONField(_("links"), default=list, blank=True)
    parent = models.ForeignKey("self", verbose_name=_("iteration of"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="iterations")
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    analysis_summary = models.TextField(_("analysis summary"), blank=True)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    feedback_count = models.PositiveIntegerField(_("asked for by"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("requirement ticket")
        verbose_name_plural = _("requirement tickets")
        indexes = [models.Index(fields=["status"], name="ticket_status"),
                   models.Index(fields=["launched_at"], name="ticket_launched_at")]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return f"REQ-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES


class TicketTransition(models.Model):
    """One workflow move: who, when, from, to, and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="transitions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=20, choices=Ticket.Status.choices)
    to_status = models.CharField(max_length=20, choices=Ticket.Status.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.from_status}→{self.to_status}"


class TicketChange(models.Model):
    """Field-level history: one changed field of one save, before and after (as JSON)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    field = models.CharField(max_length=50)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.field}"


class TicketComment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} #{self.pk}"


def _attachment_path(attachment: TicketAttachment, filename: str) -> str:
    return f"tickets/{attachment.ticket_id}/{os.path.basename(filename)}"


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=300)
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """An in-app notification about a ticket (also sent by e-mail when the recipient has an address)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    # What happened, as a code and its figures (products.notification_texts), worded when read; ``message`` keeps the
    # sentence in the site's language (scripts, and rows made before the code).
    code = models.CharField(max_length=30, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """In the active language (the reader's); the stored sentence for a row without a code."""
        from products.notification_texts import notification_text

        return (notification_text(self.code, self.params) if self.code else "") or self.message


class TrackingPlan(models.Model):
    """One version of a ticket's tracking plan (打點): the events to track and their properties.

    ``events``: [{"name", "description", "properties": [{"name", "type": string|number|integer|boolean,
    "required": bool, "allowed": [...]?, "pattern": str?, "description"?}]}].
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_REVIEW = "in_review", _("in review")
        APPROVED = "approved", _("approved")
        CHANGES_REQUESTED = "changes_requested", _("changes requested")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    events = models.JSONField(default=list)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "-version"]
        constraints = [models.UniqueConstraint(fields=["ticket", "version"], name="trackingplan_ticket_version")]

    def __str__(self) -> str:
        return f"{self.ticket.key} v{self.version}"


class TrackingCheck(models.Model):
    """The stored result of checking a range of events against a ticket's approved plan.

    Bad events are never dropped: they stay in the events table; the check flags them by uuid (examples)
    and counts them per violation.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tracking_checks")
    plan = models.ForeignKey(TrackingPlan, on_delete=models.CASCADE, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    result = models.JSONField(default=dict)
    checked_at = models.DateTimeField(auto_now_add=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.date_from}…{self.date_to}"


class ImpactAnalysis(models.Model):
    """Before/after numbers of the ticket's target metric around its launch, with the analyst's conclusion."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="analyses")
    metric = models.CharField(max_length=30, choices=Ticket.Metric.choices)
    window_days = models.PositiveSmallIntegerField()
    before_from = models.DateField()
    before_to = models.DateField()
    after_from = models.DateField()
    after_to = models.DateField()
    numbers = models.JSONField(default=dict)
    p_value = models.FloatField(null=True, blank=True)
    conclusion = models.TextField(blank=True)
    analyst = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric}"


class FeedbackItem(models.Model):
    """A customer's or merchant's request, triaged by product operations into a ticket (many to one)."""

    class Source(models.TextChoices):
        CUSTOMER = "customer", _("customer")
        MERCHANT = "merchant", _("merchant")
        STAFF = "staff", _("staff")

    class Category(models.TextChoices):
        REQUEST = "request", _("feature request")
        COMPLAINT = "complaint", _("complaint")
        BUG = "bug", _("bug report")
        PRAISE = "praise", _("praise")

    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    who = models.CharField(_("who"), max_length=200, help_text=_("Customer id, merchant code or name."))
    text = models.TextField(_("text"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.REQUEST)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    triaged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.who}"
