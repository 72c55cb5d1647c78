"""Celery entry points of the products app: take ids, call one service. Every task can run twice (a check is a
snapshot: running it again stores a newer one)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from products.services.plans import tracking_checks_run_launched

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def tracking_checks_nightly(self) -> list[int]:
    """Check the events of every launched or analysing ticket against its approved plan (since launch, ≤ 30 days)."""
    return [check.pk for check in tracking_checks_run_launched()]
