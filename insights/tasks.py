"""Celery entry points of the insights app: take ids, re-fetch, call one service. Each can run twice (a refresh
recomputes the same answers; a subscription's run is unique per slot and e-mails each reader once)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction

from insights.models import Dashboard
from insights.services.dashboards import dashboard_refresh
from insights.services.digests import team_digests_ensure
from insights.services.results import results_prune
from insights.services.subscriptions import subscription_run_send, subscriptions_due

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)
REFRESH_LOCK_SECONDS = 300


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, max_retries=3)
def dashboard_refresh_task(self, dashboard_id: int) -> int:
    """Recompute a dashboard's tiles; returns how many were computed."""
    dashboard = Dashboard.objects.filter(pk=dashboard_id).first()
    try:
        return len(dashboard_refresh(dashboard=dashboard)) if dashboard else 0
    finally:
        cache.delete(_refresh_lock(dashboard_id))


def _refresh_lock(dashboard_id: int) -> str:
    return f"insights:dashboard-refresh:{dashboard_id}"


def dashboard_refresh_queue(*, dashboard_id: int) -> bool:
    """Queue a background refresh of the dashboard unless one is already queued (for 5 minutes); True if queued."""
    if not cache.add(_refresh_lock(dashboard_id), 1, REFRESH_LOCK_SECONDS):
        return False
    transaction.on_commit(lambda: dashboard_refresh_task.delay(dashboard_id))
    return True


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=60, max_retries=3)
def dashboards_refresh_nightly(self) -> int:
    """After the night's runs: recompute every dashboard's tiles (the morning opens warm), prune old answers."""
    computed = 0
    for dashboard_id in Dashboard.objects.order_by("pk").values_list("pk", flat=True):
        computed += dashboard_refresh_task.run(dashboard_id)
    results_prune()
    return computed


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=60, retry_backoff_max=900,
             max_retries=5)
def subscription_run_send_task(self, run_id: int) -> int:
    """E-mail a subscription's run to whoever does not have it yet (a retry skips those served)."""
    return subscription_run_send(run_id=run_id)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, max_retries=3)
def subscriptions_due_task(self) -> int:
    """Every few minutes (beat): every team has its digest dashboard and subscription; the subscriptions whose slot
    has come become runs, each sent by its own task."""
    team_digests_ensure()
    runs = subscriptions_due()
    for run_id in runs:
        transaction.on_commit(lambda run_id=run_id: subscription_run_send_task.delay(run_id))
    return len(runs)
