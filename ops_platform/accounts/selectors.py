"""Reads of staff accounts: API tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from ops_platform.accounts.models import ApiToken
from ops_platform.core.secrets import secret_hash, secret_plausible


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """A staff member's tokens, newest first (revoked and expired ones too, for the record)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_get_by_secret(*, raw: str) -> ApiToken | None:
    """The token whose secret this is (in any state), its owner joined; None when unknown."""
    if not secret_plausible(raw):
        return None
    return ApiToken.objects.select_related("user").filter(key_hash=secret_hash(raw)).first()
