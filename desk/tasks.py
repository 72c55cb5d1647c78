"""Celery entry points of the desk: take ISO dates, call one service. Both can run twice: alerts are unique per
(kind, subject, day) and a digest is e-mailed once per member (a retry skips members already served)."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from desk.services.alerts import alerts_compute, failed_job_alerts_store
from desk.services.digests import digests_send
from desk.services.rules import notification_email_send

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def alerts_compute_task(self, day: str | None = None) -> int:
    """The nightly alerts for ``day`` (ISO, today by default); returns how many were new. The rules that fired and
    asked for an e-mail are e-mailed by their own tasks."""
    result = alerts_compute(day=date.fromisoformat(day) if day else None)
    notification_emails_queue(result.to_email)
    return result.created


@shared_task(bind=True, acks_late=True, autoretry_for=(*TRANSIENT_ERRORS, OSError), retry_backoff=60,
             retry_backoff_max=900, max_retries=5)
def notification_email_task(self, notification_id: int) -> bool:
    """E-mail a fired rule's notification to its owner, once (a retry after a failed send sends it then)."""
    return notification_email_send(notification_id=notification_id)


def notification_emails_queue(notification_ids: list[int]) -> None:
    for notification_id in notification_ids:
        transaction.on_commit(lambda notification_id=notification_id: notification_email_task.delay(notification_id))


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=60, retry_backoff_max=900,
             max_retries=3)
def digests_send_task(self, week: str | None = None) -> int:
    """Every team's digest of the week holding ``week`` (ISO; the last complete week by default), e-mailed once;
    returns how many e-mails went out."""
    return digests_send(week=date.fromisoformat(week) if week else None).messages


FAILED_JOB_LOOKBACK = timedelta(hours=1)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=10, retry_backoff_max=60,
             max_retries=2, soft_time_limit=60, time_limit=90)
def failed_job_alerts_task(self) -> int:
    """What beat runs every 3 minutes, beside analytics' watchdog: the alerts of runs and export jobs that failed in
    the last hour (idempotent: each is raised once); returns how many are new."""
    return failed_job_alerts_store(since=timezone.now() - FAILED_JOB_LOOKBACK)
