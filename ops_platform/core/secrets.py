"""Secrets people hold (ingest keys, API tokens): made from 32 random bytes, shown once, stored only as SHA-256.

A SHA-256 of a 256-bit random secret is enough (no salt or slow hash needed: nothing to guess from a dictionary),
and it can be looked up by equality in an index. This module imports no app.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

MAX_SECRET_LENGTH = 200  # longer strings are no secret of ours: refused before hashing
# last_used_at is a hint for people, not an audit log: at most one write a minute per secret.
TOUCH_INTERVAL = timedelta(minutes=1)


def secret_new(prefix: str) -> str:
    """A new secret: ``prefix`` (says what it is, e.g. ``ik_``) and 43 URL-safe characters (32 random bytes)."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(raw: str) -> str:
    """What is stored of a secret: its SHA-256, hex (64 characters)."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def secret_plausible(raw: str | None) -> bool:
    """Worth a lookup: a non-empty string of sensible length."""
    return bool(raw) and len(raw) <= MAX_SECRET_LENGTH


def touch_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use at ``now`` should be written (``TOUCH_INTERVAL`` since the stored one)."""
    return last_used_at is None or now - last_used_at >= TOUCH_INTERVAL
