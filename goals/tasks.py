"""Celery entry points of the goals app: call one service. Every task can run twice (the progress is an upsert)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_date

from goals.services.progress import goal_progress_record

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def goal_progress_task(self, day: str | None = None) -> int:
    """Store every current goal's value for ``day`` (ISO date; default yesterday, the last full day the nightly
    metrics cover). Returns the rows written."""
    on = parse_date(day) if day else timezone.localdate() - timedelta(days=1)
    return goal_progress_record(on=on)
