from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_merchants",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
