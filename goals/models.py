"""Teams and their members: who works together, who leads. Goals hang off them (company → team → personal).

The ``goals`` app sits above the domain apps: it reads merchants, users, products and analytics through their
selectors to measure progress; no domain app imports it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
