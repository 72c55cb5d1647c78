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
