"""The report pages: GET forms calling the selectors, errors shown by the fields, bounded query counts."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.selectors import event_names
from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db

D1 = date(2026, 3, 2)


@pytest.fixture
def stored():
    events_load([
        event_row("visit", "a", local_time(D1, 9), channel="wechat"),
        event_row("signup", "a", local_time(D1, 10)),
        event_row("order_paid", "a", local_time(D1 + timedelta(days=8), 12)),
        event_row("visit", "b", local_time(D1, 11)),
        event_row("order_paid", "b", local_time(D1 + timedelta(days=1), 12)),
    ])


def test_event_names_are_distinct_and_sorted(stored):
    assert event_names() == ["order_paid", "signup", "visit"]
    assert event_names(limit=2) == ["order_paid", "signup"]


def test_event_names_of_an_empty_store(db):
    assert event_names() == []


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_sees_the_funnel_page_with_the_numbers(client_for, stored, role):
    client = client_for(role)

    response = client.get("/analytics/funnel/", {"steps": ["visit", "signup"], "window_days": "1",
                                                 "date_from": "2026-03-02", "date_to": "2026-03-02",
                                                 "breakdown": "channel"})

    assert response.status_code == 200
    report = response.context["report"]
    assert [step["count"] for step in report["steps"]] == [2, 1]
    assert [row["value"] for row in report["breakdown"]] == ["(none)", "wechat"]
    html = response.content.decode()
    assert 'data-testid="funnel-step-1"' in html
    assert "50.0%" in html
    assert "01:00:00" in html  # median time from visit to signup
    assert '<option value="signup">' in html  # suggestions


def test_first_visit_uses_defaults_ending_on_the_last_day_with_events(client_for, stored):
    response = client_for(Role.PM).get("/analytics/funnel/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form.cleaned_data["date_to"] == D1 + timedelta(days=8)
    assert form.cleaned_data["date_from"] == D1 + timedelta(days=8) - timedelta(days=29)
    assert form.cleaned_data["steps"] == ["visit", "signup", "order_paid"]
    assert [step["count"] for step in response.context["report"]["steps"]] == [2, 1, 1]


def test_funnel_page_shows_what_to_fix(client_for, stored):
    response = client_for(Role.PM).get("/analytics/funnel/", {"steps": ["visit"], "window_days": "400",
                                                              "date_from": "2026-03-09", "date_to": "2026-03-02"})

    assert response.status_code == 200
    assert response.context["report"] is None
    html = response.content.decode()
    assert "A funnel has between 2 and 10 steps; you gave 1. Add or remove steps." in html
    assert "Enter a conversion window in days, from 1 to 365." in html
    assert "Choose an end date on or after the start date, 2026-03-09." in html
    assert 'data-testid="funnel-result"' not in html


def test_funnel_page_says_which_entrants_can_still_convert_and_offers_only_the_closed_windows(client_for):
    # today is 2026-11-25 10:00 (Shanghai): with a 7-day window, entrants after 2026-11-18 10:00 can still convert
    events_load([event_row("visit", "old", local_time(date(2026, 11, 10), 9)),
                 event_row("signup", "old", local_time(date(2026, 11, 10), 10)),
                 event_row("visit", "young", local_time(date(2026, 11, 24), 9)),
                 event_row("visit", "young2", local_time(date(2026, 11, 25), 9))])
    query = {"steps": ["visit", "signup"], "window_days": "7", "date_from": "2026-11-01", "date_to": "2026-11-25"}
    client = client_for(Role.PM)

    every = client.get("/analytics/funnel/", query).content.decode()
    closed = client.get("/analytics/funnel/", {**query, "closed_only": "on"})

    assert "2 of the 3 entrants entered less than 7 days ago" in every
    assert 'data-testid="funnel-closed-only"' in every and "closed_only=on" in every
    assert [step["count"] for step in closed.context["report"]["steps"]] == [1, 1]
    note = closed.content.decode()
    assert "Only customers who entered by 2026-11-18 10:00: their 7-day window has closed." in note
    assert "entrants entered less than" not in note


def test_retention_page_shows_the_heatmap(client_for, stored):
    response = client_for(Role.USER_OPS).get("/analytics/retention/", {
        "cohort_event": "visit", "return_event": "order_paid", "period": "day", "periods": "3",
        "date_from": "2026-03-02", "date_to": "2026-03-02"})

    assert response.status_code == 200
    assert response.context["report"]["cohorts"] == [{"cohort": "2026-03-02", "size": 2, "retained": [0, 1, 0],
                                                      "complete": 3}]
    html = response.content.decode()
    assert 'data-testid="cohort-2026-03-02"' in html
    assert "50.0%" in html


def test_golden_time_page_shows_the_week_grid(client_for, stored):
    response = client_for(Role.MERCHANT_OPS).get("/analytics/golden-time/", {
        "event": "order_paid", "date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="weekday-') == 7
    assert response.context["report"]["top"] == [{"weekday": 1, "hour": 12, "count": 2}]  # two Tuesdays
    assert "Tue 12:00–12:59 · 2" in html


@pytest.mark.parametrize(("url", "params"), [
    ("/analytics/funnel/", {"steps": ["visit", "signup", "order_paid"], "window_days": "14",
                            "date_from": "2026-03-01", "date_to": "2026-03-31", "breakdown": "channel"}),
    ("/analytics/retention/", {"cohort_event": "visit", "return_event": "order_paid", "period": "week",
                               "date_from": "2026-03-01", "date_to": "2026-03-31"}),
    ("/analytics/golden-time/", {"event": "order_paid", "date_from": "2026-03-01", "date_to": "2026-03-31"}),
])
def test_report_pages_query_count_does_not_grow_with_the_data(client_for, url, params):
    client = client_for(Role.ANALYST)
    load_customers(0, 3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, params).status_code == 200

    load_customers(3, 60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url, params).status_code == 200

    assert len(many) == len(few)
    assert len(many) <= PAGE_MAX_QUERIES[connection.vendor], [q["sql"][:60] for q in many.captured_queries]


def load_customers(first: int, last: int) -> None:
    events_load([event_row("visit", f"c{i}", local_time(D1, 9), channel=f"ch{i % 3}") for i in range(first, last)]
                + [event_row("order_paid", f"c{i}", local_time(D1 + timedelta(days=i % 9), 12))
                   for i in range(first, last)])


# session, user, groups, event names (the form's check of the names, then the page's suggestions), the property names
# of its events, the report (two or three reads on SQLite; on PostgreSQL a savepoint, JIT off and temporary tables:
# create, ANALYZE and drop per step). SQLite's budget had not followed the names and property suggestions (10 there).
PAGE_MAX_QUERIES = {"sqlite": 10, "postgresql": 25}


# Retention with young cohorts: the clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py).

NOV_9 = date(2026, 11, 9)


@pytest.fixture
def young():
    events_load([
        event_row("signup", "a", local_time(NOV_9, 10)),  # 9 Nov: weeks 0, 1 complete, week 2 so far
        event_row("order_paid", "a", local_time(NOV_9 + timedelta(days=7), 10)),
        event_row("order_paid", "a", local_time(NOV_9 + timedelta(days=15), 9)),
        event_row("signup", "b", local_time(NOV_9 + timedelta(days=1), 10)),
        event_row("signup", "c", local_time(NOV_9 + timedelta(days=7), 10)),  # 16 Nov: week 1 so far
        event_row("order_paid", "c", local_time(NOV_9 + timedelta(days=8), 10)),
        event_row("signup", "d", local_time(NOV_9 + timedelta(days=14), 10)),  # 23 Nov: week 0 so far
    ])


RETENTION_YOUNG = {"cohort_event": "signup", "return_event": "order_paid", "period": "week", "periods": "4",
                   "date_from": "2026-11-09", "date_to": "2026-11-25"}


def test_retention_page_leaves_periods_not_started_blank_and_marks_the_one_in_progress(client_for, young):
    response = client_for(Role.USER_OPS).get("/analytics/retention/", RETENTION_YOUNG)

    assert response.status_code == 200
    html = response.content.decode()
    row = html.split('data-testid="cohort-2026-11-23"')[1].split("</tr>")[0]
    assert row.count('data-state="future"') == 3 and row.count('data-state="so_far"') == 1
    assert row.count("0.0%") == 1 and '0.0%<span class="so-far-mark">so far</span>' in row  # never a bare 0 %
    row = html.split('data-testid="cohort-2026-11-09"')[1].split("</tr>")[0]
    assert row.count('data-state="complete"') == 2 and row.count('data-state="so_far"') == 1
    # the average row: week 0 over 9 and 16 Nov (1 of 3 — c ordered in week 0), week 1 over 9 Nov (1 of 2)
    average = html.split('data-testid="retention-average"')[1].split("</tr>")[0]
    assert average.split('data-share="')[1].startswith("0.333")
    assert "33.3%" in average and "50.0%" in average and average.count('data-state="future"') == 2
    assert 'data-chart="retention-curve"' in html and 'id="retention-curve-data"' in html


def test_retention_curve_data_is_the_average_in_percent(client_for, young):
    response = client_for(Role.USER_OPS).get("/analytics/retention/", RETENTION_YOUNG)

    html = response.content.decode()
    data = html.split('id="retention-curve-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data) == {"labels": ["Week 0", "Week 1", "Week 2", "Week 3"],
                                "values": [33.33, 50.0, None, None], "customers": [3, 2, 0, 0]}


def test_retention_export_has_blank_future_cells_so_far_marks_and_the_average_row(client_for, young):
    response = client_for(Role.USER_OPS).get("/analytics/retention/export/", RETENTION_YOUNG)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["Cohort", "Customers", "Complete periods", "Week 0", "Week 1", "Week 2", "Week 3"],
        ["2026-11-09", "2", "2", "0.00%", "50.00%", "50.00% (so far)", ""],
        ["2026-11-16", "1", "1", "100.00%", "0.00% (so far)", "", ""],
        ["2026-11-23", "1", "0", "0.00% (so far)", "", "", ""],
        ["Average (complete periods)", "", "", "33.33%", "50.00%", "", ""],
    ]


def test_retention_export_refuses_bad_parameters_with_the_fields(client_for, young):
    response = client_for(Role.USER_OPS).get("/analytics/retention/export/", {**RETENTION_YOUNG, "period": "year"})

    assert response.status_code == 400
    assert "Choose a period: day, week or month." in response.content.decode()


def test_retention_export_needs_a_login(client, young):
    response = client.get("/analytics/retention/export/", RETENTION_YOUNG)

    assert response.status_code == 302 and "/login" in response["Location"]
