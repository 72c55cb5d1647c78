"""Nothing a user writes can hold a worker: tracking-plan patterns run in RE2 (linear time) or are refused, checked
values are capped, report queries carry a statement timeout (PostgreSQL) and the nightly checks a time limit, and
each says so when it is hit.

Before 2026-12: a property pattern ``(a+)+`` (approved without checks) and an event value of 28 × "a" + "!" made
/products/tracking-health/ take 10 s, doubling with each character, for every role that opened it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import selectors as analytics_selectors
from analytics.services.loading import events_load
from analytics.services.tracking_checks import tracking_check
from ops_platform.core.db import ReportTimeout, statement_timeout
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.patterns import MAX_VALUE_LENGTH, PatternRefused, pattern_compile
from ops_platform.core.roles import Role
from products import tasks as product_tasks
from products.models import TrackingPlan
from products.services.tickets import ticket_create
from products.tracking import plan_events_clean
from tests.factories import event_row
from tests.products.conftest import approve_plan

EVIL = "(a+)+"


def plan(pattern: str) -> list[dict]:
    return [{"name": "search", "properties": [{"name": "q", "type": "string", "pattern": pattern}]}]


def finishes_within(seconds: float, call):
    """Run ``call`` in a thread; fail if it is still running after ``seconds`` (a hang, not a benchmark)."""
    result = {}

    def run():
        result["value"] = call()

    def run_and_close():
        try:
            run()
        finally:
            connection.close()  # the thread's own connection

    thread = threading.Thread(target=run_and_close, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: catastrophic backtracking?"
    return result["value"]


# Patterns


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)a", "a" * 501, "[", r"a{1000}{1000}"])
def test_patterns_that_cannot_run_in_linear_time_are_refused_with_the_reason(pattern):
    with pytest.raises(ApplicationError) as refused:
        plan_events_clean(plan(pattern))

    message = refused.value.errors["events[0].properties[0].pattern"][0]
    assert message.startswith("This pattern cannot be used: ")
    assert "Patterns run in linear time (RE2 syntax)" in message


@pytest.mark.parametrize("pattern", [EVIL, r"[a-z_]+", r"\d{4}-\d{2}", r"(?i)wechat|douyin", r"\p{Han}+"])
def test_ordinary_patterns_are_kept(pattern):
    assert plan_events_clean(plan(pattern))[0]["properties"][0]["pattern"] == pattern


def test_pattern_compile_says_why():
    with pytest.raises(PatternRefused, match="invalid perl operator"):
        pattern_compile("(?=a)")


@pytest.mark.django_db(transaction=True)  # the check runs in a thread, on its own connection
def test_an_evil_pattern_against_a_long_value_does_not_hold_the_check():
    now = timezone.now()
    events_load([event_row("search", "c1", now - timedelta(hours=1), q="a" * 40 + "!"),
                 event_row("search", "c2", now - timedelta(hours=1), q="a" * 900),
                 event_row("search", "c3", now - timedelta(hours=1), q="a" * (MAX_VALUE_LENGTH + 1))])

    result = finishes_within(10, lambda: tracking_check(plan_events=plan_events_clean(plan(EVIL)),
                                                        start=now - timedelta(days=1), end=now))

    (violation,) = result["violations"]
    assert (violation["kind"], violation["count"]) == ("value_not_allowed", 2)  # "a…!" and the over-long value
    assert sorted(example["distinct_id"] for example in violation["examples"]) == ["c1", "c3"]


@pytest.mark.django_db(transaction=True)
def test_a_legacy_plan_with_a_backtracking_pattern_is_flagged_not_run():
    now = timezone.now()
    events_load([event_row("search", "c1", now - timedelta(hours=1), q="aaaa")])
    legacy = plan(r"(a)\1+")  # saved before patterns were checked

    result = finishes_within(10, lambda: tracking_check(plan_events=legacy, start=now - timedelta(days=1), end=now))

    assert [(v["kind"], v["count"]) for v in result["violations"]] == [("value_not_allowed", 1)]


@pytest.mark.django_db(transaction=True)
def test_tracking_health_page_with_an_evil_pattern_answers(client_for, make_staff):
    people = {"pm": make_staff(Role.PM), "analyst": make_staff(Role.ANALYST)}
    ticket = ticket_create(requester=people["pm"], title="Search", owner_pm=people["pm"])
    approve_plan(ticket, people, events=plan(EVIL))
    events_load([event_row("search", "c1", timezone.now() - timedelta(hours=1), q="a" * 34 + "!")])
    client = client_for(Role.MERCHANT_OPS)

    response = finishes_within(20, lambda: client.get("/products/tracking-health/"))

    assert response.status_code == 200
    assert TrackingPlan.objects.get().status == "approved"
    assert response.context["health"]["violations"][0]["kind"] == "value_not_allowed"


# Statement timeouts on report queries


pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_statement_timeout_cancels_a_slow_query_and_resets_after():
    with pytest.raises(ReportTimeout) as timeout, statement_timeout(0.2), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(3)")

    assert timeout.value.status_code == 503 and timeout.value.code == "report_timeout"
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite only")
@pytest.mark.django_db
def test_statement_timeout_is_a_no_op_on_sqlite():
    with statement_timeout(0.001), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def _slow_report(**_arguments):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(3)")
    return {}


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_report_api_that_hits_the_limit_is_a_503_that_says_so(make_staff, settings, monkeypatch):
    settings.REPORT_TIMEOUT_SECONDS = 0.2
    monkeypatch.setattr(analytics_selectors, "funnel_compute", _slow_report)
    client = APIClient()
    client.force_authenticate(make_staff(Role.ANALYST))

    response = client.get("/api/v1/analytics/funnel/", {"steps": "visit,signup", "window_days": 7,
                                                        "date_from": "2026-11-01", "date_to": "2026-11-20"})

    assert response.status_code == 503
    assert response.json()["code"] == "report_timeout"
    assert response.json()["message"].startswith("This report took longer than")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_report_page_that_hits_the_limit_says_so(make_staff, client, settings, monkeypatch):
    settings.REPORT_TIMEOUT_SECONDS = 0.2
    monkeypatch.setattr(analytics_selectors, "funnel_compute", _slow_report)
    client.force_login(make_staff(Role.ANALYST))

    response = client.get("/analytics/funnel/", {"steps": ["visit", "signup"], "window_days": 7,
                                                 "date_from": "2026-11-01", "date_to": "2026-11-20"})

    assert response.status_code == 503
    assert "This report took longer than" in response.content.decode()


# Task time limits


def test_every_task_has_a_time_limit_and_the_nightly_checks_a_tight_one(settings):
    from ops_platform.celery import app

    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT == 900
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit
    assert product_tasks.tracking_checks_nightly.soft_time_limit == 900
    assert product_tasks.tracking_checks_nightly.time_limit == 960


def test_the_nightly_checks_say_so_when_they_hit_the_limit(monkeypatch, caplog):
    def slow():
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(product_tasks, "tracking_checks_run_launched", slow)

    with caplog.at_level(logging.ERROR), pytest.raises(product_tasks.TrackingChecksTimedOut) as stopped:
        product_tasks.tracking_checks_nightly.run()

    assert "stopped at their time limit of 900 s" in str(stopped.value)
    assert "stopped at their time limit of 900 s" in caplog.text
