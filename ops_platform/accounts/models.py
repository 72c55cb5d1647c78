from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Staff(AbstractUser):
    """A member of the operations team who logs in. Not a platform customer (see users.Customer)."""

    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Interface language; empty follows the browser."),
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    @property
    def role_names(self) -> list[str]:
        from ops_platform.core.roles import roles_of

        return sorted(role.value for role in roles_of(self))


class ApiToken(models.Model):
    """A staff member's API token (``Authorization: Token …``). Only its SHA-256 is stored.

    It stops working when it expires (``API_TOKEN_TTL_DAYS`` after it was issued), when its owner or an
    administrator revokes it, when its owner's password changes (``password_stamp`` is the owner's session hash at
    issue, which changes with the password) and when its owner is deactivated.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("staff member"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12, help_text=_("First characters, to recognise a token."))
    key_hash = models.CharField(max_length=64, unique=True)
    password_stamp = models.CharField(max_length=128)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "revoked_at", "expires_at"], name="apitoken_user_live")]

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"
