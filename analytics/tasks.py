"""Celery entry points: take ISO dates, call one service. Every task can run twice."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from analytics.models import MetricsRun
from analytics.services.metrics import metrics_run_execute

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def compute_metrics_nightly(self) -> int:
    """What beat runs at 02:00 local time: the AARRR rows of yesterday."""
    yesterday = timezone.localdate() - timedelta(days=1)
    run = metrics_run_execute(date_from=yesterday, date_to=yesterday, trigger=MetricsRun.Trigger.NIGHTLY)
    return run.id


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def compute_metrics_range(self, date_from: str, date_to: str, trigger: str = MetricsRun.Trigger.BACKFILL) -> int:
    run = metrics_run_execute(date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to),
                              trigger=trigger)
    return run.id
