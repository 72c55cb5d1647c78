"""Celery entry points: take ISO dates, call one service. Every task can run twice (a week is replaced)."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from merchants.services.metrics import merchant_metrics_compute, week_start

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def merchant_metrics_nightly(self) -> int:
    """What beat runs at 03:00 local time: the week that holds yesterday (metrics, health, tiers)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return merchant_metrics_compute(period_start=week_start(yesterday)).pk


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def merchant_metrics_week(self, period_start: str) -> int:
    return merchant_metrics_compute(period_start=week_start(date.fromisoformat(period_start))).pk
