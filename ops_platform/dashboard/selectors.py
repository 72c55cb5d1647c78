"""The home dashboard, built from the apps' selectors."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from analytics import selectors as analytics_selectors
from merchants import selectors as merchant_selectors
from products import selectors as product_selectors


def _change(current, previous) -> float | None:
    if not previous:
        return None
    return float(current - previous) / float(previous)


def dashboard_counts() -> dict:
    """The platform's running totals and the last metrics run: what the summary API serves, for everyone alike."""
    return {
        "events": analytics_selectors.event_count(),
        "customers": analytics_selectors.person_count(),
        "merchants": merchant_selectors.merchant_count(),
        "merchants_live": merchant_selectors.merchant_count_live(),
        "open_tickets": product_selectors.ticket_open_count(),
        "last_run": analytics_selectors.metrics_run_latest(),
    }


def dashboard_summary() -> dict:
    today = timezone.localdate()
    week_to = today - timedelta(days=1)
    week_from = today - timedelta(days=7)
    prev_to = week_from - timedelta(days=1)
    prev_from = week_from - timedelta(days=7)
    this_week = analytics_selectors.aarrr_totals(date_from=week_from, date_to=week_to)
    last_week = analytics_selectors.aarrr_totals(date_from=prev_from, date_to=prev_to)
    stages = [
        {"key": key, "value": this_week[key], "change": _change(this_week[key], last_week[key])}
        for key in ("acquisition", "activation", "retention", "revenue", "referral")
    ]
    return {
        **dashboard_counts(),
        "week_from": week_from,
        "week_to": week_to,
        "stages": stages,
        "daily_events": analytics_selectors.event_daily_counts(days=30),
    }
