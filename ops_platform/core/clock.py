"""The instant a report is read at: now, unless a caller pins an earlier one for what it computes.

An export job is requested at one moment and written later (a queue, a retry after a crash hours on). What it says
about time — which periods are complete, which conversion windows are still open, where a ``closed_only`` funnel
cuts its entrants — must be what it would have said when it was asked for, so the job runs inside
``as_of(requested_at)``. Readers that judge time ask ``now()`` (and ``periods.local_today()``, which asks it);
writes (a row's ``created_at``, a job's ``finished_at``) keep ``timezone.now()``: they happen when they happen.

A context variable, so a pinned instant stays with the code that pinned it (a thread, a task) and is gone after.
Imports no app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_pinned: ContextVar[datetime | None] = ContextVar("ops_platform_clock_pinned", default=None)


def now() -> datetime:
    """The pinned instant inside ``as_of``, else the real one (an aware ``datetime``)."""
    return _pinned.get() or timezone.now()


@contextmanager
def as_of(moment: datetime | None) -> Iterator[None]:
    """Read time as ``moment`` (aware) within the block; ``None`` leaves the real clock."""
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("as_of needs an aware datetime")
    token = _pinned.set(moment)
    try:
        yield
    finally:
        _pinned.reset(token)
