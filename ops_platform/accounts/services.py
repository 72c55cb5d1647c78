from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ops_platform.accounts.models import ApiToken, Staff
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from ops_platform.core.secrets import secret_hash, secret_new, touch_due

TOKEN_PREFIX = "tok_"
PREFIX_LENGTH = 12


@transaction.atomic
def staff_create(*, username: str, password: str, roles: list[Role | str], email: str = "",
                 first_name: str = "", last_name: str = "", language: str = "") -> Staff:
    """Create a staff member holding the given roles. Admins also get the Django admin site."""
    role_values = [Role(role) for role in roles]
    staff = Staff(username=username, email=email, first_name=first_name, last_name=last_name,
                  language=language, is_staff=Role.ADMIN in role_values,
                  is_superuser=Role.ADMIN in role_values)
    staff.set_password(password)
    staff.full_clean(exclude=["password"])
    staff.save()
    # The role groups come from a data migration; a flushed database (transactional tests) has none, and a
    # role must never be dropped silently, so a missing group is created.
    staff.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in dict.fromkeys(role_values)])
    return staff


def staff_set_language(*, staff: Staff, language: str) -> Staff:
    staff.language = language
    staff.full_clean(exclude=["password"])
    staff.save(update_fields=["language"])
    return staff


# API tokens


def api_token_ttl() -> timedelta:
    return timedelta(days=settings.API_TOKEN_TTL_DAYS)


@transaction.atomic
def api_token_create(*, user: Staff, name: str = "", now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its secret, shown once (only the hash is stored). Beyond
    ``API_TOKEN_MAX_ACTIVE`` live tokens, the oldest are revoked, so a script that logs in on every run does not pile
    up live secrets."""
    now = now or timezone.now()
    raw = secret_new(TOKEN_PREFIX)
    token = ApiToken.objects.create(user=user, name=(name or "").strip()[:100], prefix=raw[:PREFIX_LENGTH],
                                    key_hash=secret_hash(raw), password_stamp=user.get_session_auth_hash(),
                                    created_at=now, expires_at=now + api_token_ttl())
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).order_by("-created_at",
                                                                                                     "-pk")
    surplus = list(live.values_list("pk", flat=True)[settings.API_TOKEN_MAX_ACTIVE:])
    if surplus:
        ApiToken.objects.filter(pk__in=surplus).update(revoked_at=now)
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: Staff, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (an unknown id, or someone else's, is a 404)."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise ApplicationError(_("No such token, or it is not yours."), status_code=404, code="not_found")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_tokens_revoke_all(*, user: Staff) -> int:
    """Revoke every live token of ``user``; returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if touch_due(token.last_used_at, now):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
