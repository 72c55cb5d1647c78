"""Celery entry points: take ISO dates, call one service. Every task can run twice."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import group, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from analytics.models import MetricsRun
from analytics.services.columns import columns_build, columns_build_through, columns_days_to_build, supported
from analytics.services.exports import export_job_execute, export_jobs_abandon
from analytics.services.facts import event_counts_compact
from analytics.services.identity import merged_days_take, person_merges_reapply
from analytics.services.metrics import date_chunks, metrics_run_execute, metrics_runs_abandon, metrics_runs_recover
from ops_platform.core.tasks import task_queue

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def compute_metrics_nightly(self) -> int:
    """What beat runs at 02:00 local time: the AARRR rows of yesterday.

    Ranges of runs a dead worker left ``started`` are queued again first (every task can run twice).
    """
    for date_from, date_to in metrics_runs_recover():
        transaction.on_commit(lambda f=date_from, t=date_to: compute_metrics_range.delay(
            f.isoformat(), t.isoformat(), MetricsRun.Trigger.BACKFILL))
    yesterday = timezone.localdate() - timedelta(days=1)
    run = metrics_run_execute(date_from=yesterday, date_to=yesterday, trigger=MetricsRun.Trigger.NIGHTLY)
    # Identity: events a racing load left under a merged person, then the past days that merges since last night
    # moved to another first-touch channel (late identify), recomputed in the background.
    person_merges_reapply()
    merged_from = merged_days_take(today=timezone.localdate())
    if merged_from is not None and merged_from < yesterday:
        metrics_backfill_queue(date_from=merged_from, date_to=yesterday - timedelta(days=1))
    return run.id


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def compute_metrics_range(self, date_from: str, date_to: str, trigger: str = MetricsRun.Trigger.BACKFILL) -> int:
    run = metrics_run_execute(date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to),
                              trigger=trigger)
    return run.id


def metrics_backfill_queue(*, date_from: date, date_to: date) -> int:
    """Queue the range as week-long tasks that workers run in parallel (after the caller's transaction commits).

    Returns the number of tasks queued. Without a broker (the embedded default) they run in process.
    """
    chunks = date_chunks(date_from=date_from, date_to=date_to)
    job = group(compute_metrics_range.s(f.isoformat(), t.isoformat(), MetricsRun.Trigger.BACKFILL) for f, t in chunks)
    task_queue(job.apply_async)
    return len(chunks)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=10, retry_backoff_max=300,
             max_retries=3)
def export_job_run(self, job_id: str) -> str:
    """Write an export job's file (idempotent: a finished job is left as it is)."""
    return export_job_execute(job_id=job_id).status


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def build_event_columns_nightly(self) -> int:
    """What beat runs at 01:30 local time: the event columns of the days that need them (analytics/services/columns.py),
    then the hourly event counts of the hours over a day old folded into one row an hour.

    Returns the number of days built (0 when the hourly build is running: it takes them). Idempotent: a second run
    finds nothing to do.
    """
    built = columns_build(wait=False, progress=_log_column_day).days
    event_counts_compact(before=timezone.now() - timedelta(days=1))
    return built


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=600,
             max_retries=5)
def build_event_columns_task(self) -> int:
    """What beat runs every hour, and what ``import_events`` queues: the event columns of the days that need them
    (new complete days, days written to since their build), so days are packed soon after they are written rather
    than at night.

    Returns the number of days built: 0 when there is nothing to do (a few small reads, no write) or when another
    build is running (it looks again for days that need it before it ends). Each day built is logged.
    """
    result = columns_build(wait=False, progress=_log_column_day)
    if result.busy:
        logger.info("Event columns: another build is running; it takes the days that need it.")
    return result.days


def _log_column_day(done: int, total: int, day: date) -> None:
    logger.info("Event columns: built %s (%d of %d).", day.isoformat(), done, total)


def event_columns_build_queue() -> list[date]:
    """Queue ``build_event_columns_task`` if some days need it (after the caller's transaction commits); returns those
    days. Without a broker (the embedded default) it runs in process."""
    if not supported():
        return []
    days = columns_days_to_build(through=columns_build_through())
    if days:
        task_queue(build_event_columns_task.delay)
    return days


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=10, retry_backoff_max=60,
             max_retries=2, soft_time_limit=60, time_limit=90)
def jobs_watchdog_task(self) -> dict:
    """What beat runs every 3 minutes: runs and export jobs a dead worker left "started" are marked failed.

    A run still started ``JOB_STUCK_AFTER_SECONDS`` after it began cannot be running (no task outlives its hard time
    limit): it is marked failed and its days are queued again (the broker also redelivers the dead worker's task
    once ``CELERY_VISIBILITY_TIMEOUT`` has passed; a second run of the same days is harmless). An export job is marked
    failed, its partial file removed, and its owner may retry it. The desk raises the alerts
    (desk.tasks.failed_job_alerts_task).
    """
    stuck_after = timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS)
    runs = metrics_runs_abandon(older_than=stuck_after)
    for date_from, date_to in sorted({(run.date_from, run.date_to) for run in runs}):
        task_queue(lambda f=date_from, t=date_to: compute_metrics_range.delay(
            f.isoformat(), t.isoformat(), MetricsRun.Trigger.BACKFILL))
    jobs = export_jobs_abandon(older_than=stuck_after,
                               queued_longer_than=stuck_after + timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT))
    return {"runs": len(runs), "exports": len(jobs)}
