"""Celery entry points of the users app: call one service. Every task can run twice (the refresh is an upsert)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from users.services.customers import customers_refresh
from users.services.segments import segments_rebuild_all

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def customers_refresh_task(self, trigger: str = "nightly") -> int:
    """Rebuild the customers from the events, then every segment; returns the id of the refresh run."""
    run = customers_refresh(trigger=trigger)
    segments_rebuild_all()
    return run.pk
