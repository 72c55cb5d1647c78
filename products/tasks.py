"""Celery entry points of the products app: take ids, call one service. Every task can run twice (a check is a
snapshot: running it again stores a newer one)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from products.services.plans import tracking_checks_run_launched

logger = logging.getLogger(__name__)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)
CHECKS_SOFT_TIME_LIMIT = 15 * 60  # seconds; the checks are bounded (range, RE2 patterns, value lengths): 15 min is a
# sign of a runaway, not of work


class TrackingChecksTimedOut(RuntimeError):
    """The nightly checks reached their time limit (the checks stored before it stay)."""


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5, soft_time_limit=CHECKS_SOFT_TIME_LIMIT, time_limit=CHECKS_SOFT_TIME_LIMIT + 60)
def tracking_checks_nightly(self) -> list[int]:
    """Check the events of every launched or analysing ticket against its approved plan (since launch, ≤ 30 days)."""
    try:
        return [check.pk for check in tracking_checks_run_launched()]
    except SoftTimeLimitExceeded:
        message = (f"The nightly tracking checks stopped at their time limit of {CHECKS_SOFT_TIME_LIMIT} s; the "
                   "checks finished before it are stored. Look for a plan with a costly pattern or a flood of events.")
        logger.error(message)
        raise TrackingChecksTimedOut(message) from None
