"""Celery entry points: take ISO dates, call one service. Every task can run twice (a week is replaced)."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from merchants.services.metrics import merchant_metrics_compute, merchant_metrics_nightly_run, week_start

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def merchant_metrics_nightly(self) -> int | None:
    """What beat runs at 03:00 local time: the last complete week if it was not judged yet (Monday night: the week
    that just ended — metrics, health, tiers), then the week so far (metrics only). Returns the last run's id."""
    runs = merchant_metrics_nightly_run()
    return runs[-1].pk if runs else None


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def merchant_metrics_week(self, period_start: str) -> int:
    return merchant_metrics_compute(period_start=week_start(date.fromisoformat(period_start))).pk
