"""The trends API and page: the contract, field errors with the nearest names, roles, the segment restriction."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/trends/"
DAY = date(2026, 11, 20)


def _orders():
    events_load([
        event_row("order_paid", "a", local_time(DAY, 9), amount=10, merchant_id="m1", utm_source="wechat"),
        event_row("order_paid", "a", local_time(DAY, 10), amount=20, merchant_id="m2", utm_source="wechat"),
        event_row("order_paid", "b", local_time(DAY, 11), amount=5, merchant_id="m1"),
        event_row("visit", "b", local_time(DAY, 8), channel="douyin"),
    ])


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_trends(api_client_for, role):
    _orders()
    response = api_client_for(role).get(URL, {"event": "order_paid", "measure": "sum", "property": "amount",
                                              "date_from": "2026-11-20", "date_to": "2026-11-20"})
    assert response.status_code == 200, response.json()
    assert response.json()["series"] == [{"label": "order_paid · sum(amount)", "event": "order_paid",
                                          "measure": "sum", "property": "amount",
                                          "points": [{"period": "2026-11-20", "value": 35, "complete": True,
                                                      "cut": False}]}]


def test_breakdown_where_and_compare(api_client_for):
    _orders()
    response = api_client_for(Role.ANALYST).get(URL + "?event=order_paid&measure=unique&date_from=2026-11-20"
                                                "&date_to=2026-11-20&breakdown=properties.utm_source"
                                                "&where=properties.merchant_id:eq:m1&compare=true")
    body = response.json()
    assert response.status_code == 200, body
    assert [(s["breakdown_value"], s.get("compare", False), s["points"][0]["value"]) for s in body["series"]] == [
        ("(none)", False, 1), ("wechat", False, 1), ("(none)", True, 0), ("wechat", True, 0)]
    assert body["compare_from"] == "2026-11-19"


def test_unknown_event_and_property_list_the_nearest_names(api_client_for):
    _orders()
    response = api_client_for(Role.ANALYST).get(URL, {"event": "order_payed", "date_from": "2026-11-20",
                                                      "date_to": "2026-11-20"})
    assert response.status_code == 400
    assert "order_paid" in response.json()["errors"]["event"][0] if "errors" in response.json() else \
        "order_paid" in str(response.json())
    response = api_client_for(Role.ANALYST).get(URL, {"event": "order_paid", "date_from": "2026-11-20",
                                                      "date_to": "2026-11-20", "breakdown": "properties.merchant",
                                                      "where": "properties.amout:gt:3"})
    assert response.status_code == 400
    text = str(response.json())
    assert "properties.merchant_id" in text and "properties.amount" in text


@pytest.mark.parametrize("event", ["signup", "review"])
def test_a_standard_event_not_stored_yet_is_known_and_reads_zero(api_client_for, event):
    """A young platform has visits and orders but no review yet: the standard events the metrics read are known
    names (zeros, as the events export and the name mapping say), not a 400 that suggests another event."""
    _orders()
    query = {"event": event, "date_from": "2026-11-20", "date_to": "2026-11-20"}
    response = api_client_for(Role.ANALYST).get(URL, query)
    funnel = api_client_for(Role.ANALYST).get("/api/v1/analytics/funnel/", {
        "steps": ["visit", event], "window_days": "7", "date_from": "2026-11-20", "date_to": "2026-11-20"})
    typo = api_client_for(Role.ANALYST).get(URL, {**query, "event": event + "s"})

    assert response.status_code == 200, response.json()
    assert [point["value"] for point in response.json()["series"][0]["points"]] == [0]
    assert funnel.status_code == 200 and funnel.json()["steps"][1]["count"] == 0
    assert typo.status_code == 400 and event in str(typo.json()["errors"]["event"])


@pytest.mark.parametrize("query, field", [
    ({"measure": "sum"}, "property"), ({"measure": "mode"}, "measure"), ({"interval": "hour"}, "interval"),
    ({"breakdown_limit": "26"}, "breakdown_limit"), ({"where": "properties.amount:gt:abc"}, "where"),
    ({"where": "properties.amount:like:3"}, "where"), ({"where": "merchant_id:eq:m1"}, "where"),
    ({"breakdown": "utm_source"}, "breakdown"), ({"date_to": "2026-11-19"}, "date_to"),
])
def test_bad_parameters_are_field_errors(api_client_for, query, field):
    _orders()
    params = {"event": "order_paid", "date_from": "2026-11-20", "date_to": "2026-11-20", **query}
    response = api_client_for(Role.ANALYST).get(URL, params)
    assert response.status_code == 400, response.content
    assert field in str(response.json())


def test_segment_restriction_needs_customer_records(api_client_for):
    _orders()
    params = {"event": "order_paid", "date_from": "2026-11-20", "date_to": "2026-11-20", "segment": "999"}
    assert api_client_for(Role.MERCHANT_OPS).get(URL, params).status_code == 403
    response = api_client_for(Role.ANALYST).get(URL, params)
    assert response.status_code == 400 and "segment" in str(response.json())


def test_keeping_and_leaving_out_the_same_segment_is_a_field_error(api_client_for):
    from users.models import Segment

    _orders()
    segment = Segment.objects.create(name="Everyone", rules={})
    params = {"event": "order_paid", "date_from": "2026-11-20", "date_to": "2026-11-20", "segment": str(segment.pk),
              "exclude_segment": str(segment.pk)}

    response = api_client_for(Role.ANALYST).get(URL, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["exclude_segment"]
    assert "same segment" in response.json()["errors"]["exclude_segment"][0]


@pytest.mark.parametrize("measure", ["sum", "avg", "median"])
def test_a_property_that_is_never_a_number_is_a_field_error(api_client_for, client_for, measure):
    _orders()
    params = {"event": "order_paid", "measure": measure, "property": "merchant_id", "date_from": "2026-11-20",
              "date_to": "2026-11-20"}

    response = api_client_for(Role.ANALYST).get(URL, params)
    page = client_for(Role.ANALYST).get("/analytics/trends/", params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["property"]
    message = "No order_paid event in this range has a number in “merchant_id”: choose a numeric property"
    assert response.json()["errors"]["property"][0].startswith(message)
    assert page.status_code == 400 and message in page.content.decode() and page.context["report"] is None
    # a range without the event at all, a filter that keeps none, and a real sum of zeros are answers, not errors
    assert api_client_for(Role.ANALYST).get(URL, {**params, "date_from": "2026-11-21", "date_to": "2026-11-21"})\
        .status_code == 200
    kept_none = {**params, "where": "properties.merchant_id:eq:m9"}
    assert api_client_for(Role.ANALYST).get(URL, kept_none).status_code == 200


def test_a_sum_of_zeros_is_an_answer(api_client_for):
    events_load([event_row("order_paid", "z", local_time(DAY, 9), amount=0)])
    response = api_client_for(Role.ANALYST).get(URL, {"event": "order_paid", "measure": "sum", "property": "amount",
                                                      "date_from": "2026-11-20", "date_to": "2026-11-20"})
    assert response.status_code == 200
    assert response.json()["series"][0]["points"][0]["value"] == 0


def test_login_required(client):
    assert client.get(URL).status_code in (401, 403)
    assert client.get("/analytics/trends/").status_code == 302


def test_trends_page_with_a_breakdown(client_for):
    _orders()
    client = client_for(Role.PM)
    response = client.get("/analytics/trends/", {"event": "order_paid", "date_from": "2026-11-20",
                                                 "date_to": "2026-11-25", "breakdown": "properties.merchant_id",
                                                 "chart": "bar"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="trends-result"' in html and "m1" in html and 'id="trends-data"' in html
    assert client.get("/analytics/trends/").status_code == 200  # defaults


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_stickiness(api_client_for, role):
    _orders()
    response = api_client_for(role).get("/api/v1/analytics/stickiness/", {
        "event": "order_paid", "date_from": "2026-11-20", "date_to": "2026-11-21"})
    body = response.json()
    assert response.status_code == 200, body
    assert body["days"] == [
        {"date": "2026-11-20", "dau": 2, "wau": 2, "mau": 2, "dau_mau": 1.0, "complete": True},
        {"date": "2026-11-21", "dau": 0, "wau": 2, "mau": 2, "dau_mau": 0.0, "complete": True}]
    assert body["active_days_7"][0] == {"days": 1, "customers": 2}


def test_stickiness_page(client_for):
    _orders()
    response = client_for(Role.ANALYST).get("/analytics/stickiness/", {
        "event": "order_paid", "date_from": "2026-11-20", "date_to": "2026-11-25",
        "where": "properties.merchant_id:eq:m1"})
    assert response.status_code == 200
    assert 'data-testid="stickiness-result"' in response.content.decode()
    mistyped = client_for(Role.ANALYST).get("/analytics/stickiness/", {"event": "ordr_paid", "date_from": "2026-11-20",
                                                                        "date_to": "2026-11-25"})
    assert "Nearest: order_paid" in mistyped.content.decode()
