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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("requirement ticket")
        verbose_name_plural = _("requirement tickets")

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return f"REQ-{self.pk}"
