"""Invite codes: the code a customer shares so that a friend's ``signup`` can name them as ``referrer`` (DESIGN's
canonical events: the referrer's distinct_id or an invite code issued by the platform; both resolve to the referring
customer). One derivation, in Python and in SQL, for every app: users stores each customer's code and resolves
referrers with it, analytics attributes referred sign-ups with it, the demo sends it."""

from __future__ import annotations

import hashlib

from django.db import connection

PREFIX = "INV-"


def invite_code_of(distinct_id: str) -> str:
    """A customer's invite code: stable, short, derived from their id."""
    return PREFIX + hashlib.sha1(distinct_id.encode()).hexdigest()[:8].upper()  # noqa: S324 - a label, not security


def invite_code_sql(column: str) -> str:
    """``invite_code_of`` of a text column, in SQL (PostgreSQL: pgcrypto's ``digest``, installed by the users
    migration 0008; SQLite: the ``SHA1`` function Django registers)."""
    if connection.vendor == "postgresql":
        return f"'{PREFIX}' || UPPER(SUBSTR(ENCODE(DIGEST({column}, 'sha1'), 'hex'), 1, 8))"
    return f"'{PREFIX}' || UPPER(SUBSTR(SHA1({column}), 1, 8))"
