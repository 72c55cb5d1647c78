"""The report API: contract shapes, field-level 400s for every bad parameter, every role may read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db

D1 = date(2026, 3, 2)
FUNNEL = "/api/v1/analytics/funnel/"
RETENTION = "/api/v1/analytics/retention/"
GOLDEN = "/api/v1/analytics/golden-time/"


@pytest.fixture
def stored():
    events_load([
        event_row("visit", "a", local_time(D1, 9), channel="wechat"),
        event_row("signup", "a", local_time(D1, 10)),
        event_row("order_paid", "a", local_time(D1 + timedelta(days=8), 12)),
        event_row("visit", "b", local_time(D1, 11)),
    ])


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_reads_a_funnel_with_breakdown(api_client_for, stored, role):
    response = api_client_for(role).get(FUNNEL, {"steps": "visit,signup", "window_days": "1",
                                                 "date_from": "2026-03-02", "date_to": "2026-03-02",
                                                 "breakdown": "channel"})

    assert response.status_code == 200
    answer = response.json()
    # Read on 2026-11-25 (the pinned now): every entrant of 2 March has had their day-long window.
    window = answer.pop("window")
    as_of = datetime.fromisoformat(window.pop("as_of"))
    assert abs(as_of - timezone.now()) < timedelta(minutes=1)
    assert window == {"days": 1, "closed_before": (as_of - timedelta(days=1)).isoformat(), "closed_only": False,
                      "entrants_open": 0, "complete": True}
    assert answer == {
        "steps": [
            {"event": "visit", "count": 2, "conversion_from_previous": 1.0, "conversion_from_first": 1.0,
             "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
            {"event": "signup", "count": 1, "conversion_from_previous": 0.5, "conversion_from_first": 0.5,
             "median_seconds_to_convert": 3600.0, "avg_seconds_to_convert": 3600.0},
        ],
        "breakdown": [
            {"value": "(none)", "steps": [
                {"event": "visit", "count": 1, "conversion_from_previous": 1.0, "conversion_from_first": 1.0,
                 "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
                {"event": "signup", "count": 0, "conversion_from_previous": 0.0, "conversion_from_first": 0.0,
                 "median_seconds_to_convert": None, "avg_seconds_to_convert": None}], "entrants_window_open": 0},
            {"value": "wechat", "steps": [
                {"event": "visit", "count": 1, "conversion_from_previous": 1.0, "conversion_from_first": 1.0,
                 "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
                {"event": "signup", "count": 1, "conversion_from_previous": 1.0, "conversion_from_first": 1.0,
                 "median_seconds_to_convert": 3600.0, "avg_seconds_to_convert": 3600.0}], "entrants_window_open": 0},
        ],
    }


def test_funnel_answers_in_one_place_for_api_and_selector(api_client_for, stored):
    response = api_client_for(Role.PM).get(FUNNEL, {"steps": "visit, signup ,order_paid", "window_days": "14",
                                                    "date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.status_code == 200
    assert [step["count"] for step in response.json()["steps"]] == [2, 1, 1]
    assert "breakdown" not in response.json()


def test_retention_api(api_client_for, stored):
    response = api_client_for(Role.ANALYST).get(RETENTION, {
        "cohort_event": "signup", "return_event": "order_paid", "period": "week", "date_from": "2026-03-01",
        "date_to": "2026-03-31", "periods": "3"})

    assert response.status_code == 200
    assert response.json() == {"period": "week", "cohorts": [{"cohort": "2026-03-02", "size": 1,
                                                              "retained": [0, 1, 0], "complete": 3}]}


def test_golden_time_api(api_client_for, stored):
    response = api_client_for(Role.MERCHANT_OPS).get(GOLDEN, {"event": "visit", "date_from": "2026-03-02",
                                                              "date_to": "2026-03-02"})

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert body["top"] == [{"weekday": 0, "hour": 9, "count": 1}, {"weekday": 0, "hour": 11, "count": 1}]


GOOD_FUNNEL = {"steps": "visit,signup", "window_days": "7", "date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"steps": "visit"}, "steps", "A funnel has between 2 and 10 steps; you gave 1. Add or remove steps."),
    ({"steps": ",".join(["visit"] * 11)}, "steps",
     "A funnel has between 2 and 10 steps; you gave 11. Add or remove steps."),
    ({"steps": "visit,,signup"}, "steps", "Step 2 is empty: type an event name or remove the step."),
    ({"steps": "visit," + "x" * 201}, "steps",
     "Step 2 is too long: event names have at most 200 characters."),
    ({"steps": ""}, "steps", "Enter the funnel's steps: between 2 and 10 event names, in order."),
    ({"steps": "visit,sign\x00up"}, "steps", "Null characters are not allowed."),
    ({"window_days": "0"}, "window_days", "Enter a conversion window in days, from 1 to 365."),
    ({"window_days": "366"}, "window_days", "Enter a conversion window in days, from 1 to 365."),
    ({"window_days": "two"}, "window_days", "Enter a conversion window in days, from 1 to 365."),
    ({"date_from": "01/03/2026"}, "date_from", "Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    ({"date_to": "2026-02-30"}, "date_to", "Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    ({"date_to": "2026-02-28"}, "date_to", "Choose an end date on or after the start date, 2026-03-01."),
    ({"date_to": "2027-04-05"}, "date_to", "Choose a range of at most 400 days (this one has 401)."),
    ({"breakdown": "city"}, "breakdown",
     "Name an event property as properties.<key>, for example properties.merchant_id."),
    ({"breakdown": "properties.city", "breakdown_limit": "26"}, "breakdown_limit", "Show from 1 to 25 values."),
    ({"step_windows": "1x"}, "step_windows",
     "Write each step's window as a number and a unit — s, m, h or d (30m, 2h, 7d) — from 1 second to 365 days, "
     "separated by commas; leave an entry empty for none."),
    ({"step_windows": "366d"}, "step_windows",
     "Write each step's window as a number and a unit — s, m, h or d (30m, 2h, 7d) — from 1 second to 365 days, "
     "separated by commas; leave an entry empty for none."),
    ({"step_windows": "1d,2h"}, "step_windows", "Give at most one window per step after the first (1)."),
    ({"exclude": "order_paid"}, "exclude",
     "“order_paid” is not an exclusion: write <event>:<from step>:<to step>, for example ticket_opened:2:3."),
    ({"exclude": "order_paid:2:1"}, "exclude",
     "“order_paid:2:1”: the steps go from 1 to 2, the first before the second."),
    ({"exclude": "order_paid:1:3"}, "exclude",
     "“order_paid:1:3”: the steps go from 1 to 2, the first before the second."),
    ({"exclude": ["order_paid:1:2"] * 6}, "exclude", "At most 5 exclusions at a time."),
    ({"value_property": "a:b"}, "value_property", "A property key has at most 200 characters and no “:”."),
])
def test_funnel_rejects_bad_parameters_field_by_field(api_client_for, change, field, message):
    response = api_client_for(Role.PM).get(FUNNEL, {**GOOD_FUNNEL, **change})

    assert response.status_code == 400
    assert response.json() == {"message": "The request has invalid fields; see errors.", "code": "invalid",
                               "errors": {field: [message]}}


def test_funnel_without_parameters_names_every_missing_field(api_client_for):
    response = api_client_for(Role.PM).get(FUNNEL)

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["date_from", "date_to", "steps", "window_days"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"period": "year"}, "period", "Choose a period: day, week or month."),
    ({"periods": "61"}, "periods", "Enter how many periods to show, from 1 to 60."),
    ({"periods": "0"}, "periods", "Enter how many periods to show, from 1 to 60."),
    ({"cohort_event": ""}, "cohort_event", "Enter an event name, for example order_paid."),
    ({"return_event": "x" * 201}, "return_event", "Event names have at most 200 characters."),
])
def test_retention_rejects_bad_parameters_field_by_field(api_client_for, change, field, message):
    good = {"cohort_event": "signup", "return_event": "order_paid", "period": "week", "date_from": "2026-03-01",
            "date_to": "2026-03-31"}

    response = api_client_for(Role.PM).get(RETENTION, {**good, **change})

    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}


def test_golden_time_rejects_a_missing_event(api_client_for):
    response = api_client_for(Role.PM).get(GOLDEN, {"date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"event": ["Enter an event name, for example order_paid."]}


@pytest.mark.parametrize("url", [FUNNEL, RETENTION, GOLDEN])
@pytest.mark.parametrize(("date_from", "date_to", "field"), [
    ("0001-01-01", "0001-01-05", "date_from"), ("9999-12-25", "9999-12-31", "date_from"),
    ("2099-12-30", "2100-01-01", "date_to"),
])
def test_dates_out_of_bounds_are_a_400_not_a_500(api_client_for, url, date_from, date_to, field):
    params = {"steps": "a,b", "window_days": "365", "cohort_event": "a", "return_event": "b", "period": "month",
              "periods": "60", "event": "a", "date_from": date_from, "date_to": date_to}

    response = api_client_for(Role.PM).get(url, params)

    assert response.status_code == 400
    assert response.json()["errors"][field] == ["Enter a date between 1970-01-01 and 2099-12-31."]


def test_the_last_allowed_day_with_the_longest_window_and_periods_answers(api_client_for):
    client = api_client_for(Role.PM)
    dates = {"date_from": "2099-12-31", "date_to": "2099-12-31"}

    assert client.get(FUNNEL, {"steps": "a,b", "window_days": "365", **dates}).status_code == 200
    assert client.get(RETENTION, {"cohort_event": "a", "return_event": "b", "period": "month", "periods": "60",
                                  **dates}).status_code == 200
    assert client.get(GOLDEN, {"event": "a", **dates}).status_code == 200


def test_anonymous_gets_401(client):
    response = client.get(FUNNEL, GOOD_FUNNEL)

    assert response.status_code == 401


def test_the_schema_documents_the_report_endpoints(api_client_for):
    response = api_client_for(Role.PM).get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert {"/api/v1/analytics/funnel/", "/api/v1/analytics/retention/", "/api/v1/analytics/golden-time/"} <= set(
        paths)
    funnel_parameters = {p["name"] for p in paths["/api/v1/analytics/funnel/"]["get"]["parameters"]}
    assert funnel_parameters == {"steps", "window_days", "date_from", "date_to", "closed_only", "breakdown",
                                 "breakdown_limit", "step_windows", "exclude", "value_property", "where", "segment",
                                 "exclude_segment"}
    step = response.json()["components"]["schemas"]["FunnelStep"]["properties"]
    assert {"value_sum", "value_avg"} <= set(step)


PARAMETER_VALUES = st.one_of(
    st.text(max_size=30), st.sampled_from(["", "0", "1", "60", "366", "-1", "2026-03-01", "1969-12-31",
                                           "2099-12-31", "day", "week", "month", "channel", "a,b", "a,,b", "a\x00b",
                                           "properties.amount", "1d,2h", "30m", "visit:1:2", "a:b:c"]),
)


@pytest.mark.parametrize(("url", "names"), [
    (FUNNEL, ["steps", "window_days", "date_from", "date_to", "breakdown", "breakdown_limit", "step_windows",
              "exclude", "value_property"]),
    (RETENTION, ["cohort_event", "return_event", "period", "periods", "date_from", "date_to"]),
    (GOLDEN, ["event", "date_from", "date_to"]),
])
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_query_string_gets_an_answer_never_a_500(api_client_for, url, names, data):
    params = {name: data.draw(PARAMETER_VALUES, label=name) for name in names
              if data.draw(st.booleans(), label=f"send {name}")}

    response = api_client_for(Role.PM).get(url, params)

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()["errors"]) <= set(names)


def test_funnel_options_on_the_api(api_client_for):
    """A property breakdown with a limit, a step window, an exclusion and a value property, read through the API."""
    events_load([
        event_row("visit", "a", local_time(D1, 9), utm_source="baidu"),
        event_row("signup", "a", local_time(D1, 9, 30)),
        event_row("order_paid", "a", local_time(D1, 10), amount=30),
        event_row("visit", "b", local_time(D1, 9), utm_source="baidu"),
        event_row("signup", "b", local_time(D1, 12)),  # 3 h after the visit: outside the 2 h step window
        event_row("visit", "c", local_time(D1, 9), utm_source="douyin"),
        event_row("signup", "c", local_time(D1, 9, 10)),
        event_row("ticket_opened", "c", local_time(D1, 9, 20)),  # between signup and order_paid: stops at signup
        event_row("order_paid", "c", local_time(D1, 9, 40), amount=12.5),
        event_row("visit", "d", local_time(D1, 9), utm_source="wechat"),
        event_row("signup", "d", local_time(D1, 9, 5)),
        event_row("order_paid", "d", local_time(D1, 9, 50), amount="7"),  # a string: no value
    ])
    response = api_client_for(Role.ANALYST).get(FUNNEL, {
        "steps": "visit,signup,order_paid", "window_days": "1", "date_from": "2026-03-02", "date_to": "2026-03-02",
        "breakdown": "properties.utm_source", "breakdown_limit": "1", "step_windows": "2h",
        "exclude": "ticket_opened:2:3", "value_property": "amount"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(s["count"], s["value_sum"], s["value_avg"]) for s in body["steps"]] == [
        (4, 0, None), (3, 0, None), (2, 30, 30)]
    assert [(row["value"], [s["count"] for s in row["steps"]]) for row in body["breakdown"]] == [
        ("baidu", [2, 1, 1]), ("(other)", [2, 2, 1])]


def test_funnel_unknown_breakdown_and_value_property_list_the_nearest(api_client_for):
    events_load([event_row("visit", "a", local_time(D1, 9), utm_source="baidu"),
                 event_row("order_paid", "a", local_time(D1, 10), amount=3)])
    response = api_client_for(Role.ANALYST).get(FUNNEL, {
        "steps": "visit,order_paid", "window_days": "1", "date_from": "2026-03-02", "date_to": "2026-03-02",
        "breakdown": "properties.utm_sorce", "value_property": "amout", "exclude": "ticket_opend:1:2"})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "properties.utm_source" in errors["breakdown"][0]
    assert "properties.amount" in errors["value_property"][0]
    assert "No event named “ticket_opend”" in errors["exclude"][0]


def test_retention_breakdown_on_the_api_and_its_errors(api_client_for):
    events_load([
        event_row("signup", "a", local_time(D1, 9), utm_source="baidu"),
        event_row("signup", "a", local_time(D1 + timedelta(days=1), 9), utm_source="wechat"),  # not the first
        event_row("order_paid", "a", local_time(D1 + timedelta(days=8), 9)),
        event_row("signup", "b", local_time(D1, 10), utm_source="baidu"),
        event_row("signup", "c", local_time(D1, 11)),
    ])
    params = {"cohort_event": "signup", "return_event": "order_paid", "period": "week", "date_from": "2026-03-01",
              "date_to": "2026-03-31", "periods": "2", "breakdown": "properties.utm_source", "breakdown_limit": "1"}
    response = api_client_for(Role.ANALYST).get(RETENTION, params)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["cohorts"] == [{"cohort": "2026-03-02", "size": 3, "retained": [0, 1], "complete": 2}]
    assert body["breakdown"] == [
        {"value": "baidu", "cohorts": [{"cohort": "2026-03-02", "size": 2, "retained": [0, 1], "complete": 2}]},
        {"value": "(other)", "cohorts": [{"cohort": "2026-03-02", "size": 1, "retained": [0, 0], "complete": 2}]},
    ]
    mistyped = api_client_for(Role.ANALYST).get(RETENTION, {**params, "breakdown": "properties.utm_sorce"})
    assert mistyped.status_code == 400
    assert "properties.utm_source" in mistyped.json()["errors"]["breakdown"][0]
    too_many = api_client_for(Role.ANALYST).get(RETENTION, {**params, "breakdown_limit": "30"})
    assert too_many.json()["errors"] == {"breakdown_limit": ["Show from 1 to 25 values."]}


def test_funnel_and_retention_exports_carry_the_breakdown_and_values(client_for):
    events_load([
        event_row("visit", "a", local_time(D1, 9), utm_source="baidu"),
        event_row("order_paid", "a", local_time(D1, 10), amount=30),
        event_row("visit", "b", local_time(D1, 9)),
    ])
    response = client_for(Role.ANALYST).get("/analytics/funnel/export/", {
        "steps": "visit,order_paid", "window_days": "1", "date_from": "2026-03-02", "date_to": "2026-03-02",
        "breakdown": "properties.utm_source", "value_property": "amount", "file_format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig") if response.streaming else \
        response.content.decode("utf-8-sig")
    assert "properties.utm_source" in text and "baidu" in text and "(none)" in text
    assert "Value sum" in text and any("order_paid" in line and "30" in line for line in text.splitlines())
