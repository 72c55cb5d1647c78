"""Ingest keys: created with a random secret shown once, stored as its SHA-256, revocable."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import IngestKey
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.secrets import TOUCH_INTERVAL, secret_hash, secret_new, touch_due

KEY_PREFIX = "ik_"
PREFIX_LENGTH = 12


def ingest_key_hash(raw_key: str) -> str:
    return secret_hash(raw_key)


@transaction.atomic
def ingest_key_create(*, name: str, created_by=None) -> tuple[IngestKey, str]:
    """A new key and its secret. Only the hash is stored: the secret cannot be shown again."""
    raw_key = secret_new(KEY_PREFIX)
    key = IngestKey(name=name.strip(), prefix=raw_key[:PREFIX_LENGTH], key_hash=ingest_key_hash(raw_key),
                    created_by=created_by)
    key.full_clean()
    key.save()
    return key, raw_key


@transaction.atomic
def ingest_key_revoke(*, key: IngestKey) -> IngestKey:
    """Revoke a key: from now on it is refused (401). Revoking twice is refused."""
    key = IngestKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise ApplicationError(_("This key is already revoked."), code="already_revoked")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def ingest_key_touch(*, key: IngestKey, now: datetime | None = None) -> None:
    """Record a use of the key, writing only when the stored time is over a minute old."""
    now = now or timezone.now()
    if not touch_due(key.last_used_at, now):
        return
    # The condition keeps concurrent workers from writing the same minute over and over.
    IngestKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - TOUCH_INTERVAL).update(last_used_at=now)
    key.last_used_at = now
