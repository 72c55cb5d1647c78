"""Pages and API of the users app: who sees what, filters, bad input, query counts."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ops_platform.core.roles import Role
from users.models import ChannelSpend, CustomerRefresh

RECORD_ROLES = {Role.USER_OPS, Role.ANALYST, Role.ADMIN}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_summaries_for_everyone_single_customers_for_user_ops_analysts_admins(client_for, customers, role):
    client = client_for(role)

    assert client.get("/users/").status_code == 200
    assert client.get("/users/lifecycle/").status_code == 200
    assert client.get("/users/channels/").status_code == 200
    expected = 200 if role in RECORD_ROLES else 403
    assert client.get("/users/customers/").status_code == expected
    assert client.get("/users/customers/alice/").status_code == expected
    assert client.get("/users/customers/export.csv").status_code == expected


def test_overview_shows_stages_and_the_rfm_grid(client_for, customers):
    response = client_for(Role.PM).get("/users/")

    body = response.content.decode()
    assert 'data-testid="rfm-grid"' in body
    assert response.context["summary"]["customers"] == 3
    assert {row["stage"]: row["customers"] for row in response.context["summary"]["stages"]} == {
        "new": 1, "activated": 0, "active": 1, "at_risk": 1, "churned": 0, "resurrected": 0}
    assert 'data-testid="refresh-button"' not in body


def test_customer_page_shows_the_timeline(client_for, customers):
    response = client_for(Role.ANALYST).get("/users/customers/alice/")

    timeline = response.context["timeline"]
    assert [event["event"] for event in timeline] == ["order_paid", "order_paid", "signup", "visit"]
    assert "wx" in response.content.decode()


def test_unknown_customer_is_a_404(client_for, customers):
    assert client_for(Role.USER_OPS).get("/users/customers/nobody/").status_code == 404


def test_customer_list_filters(client_for, customers):
    client = client_for(Role.USER_OPS)

    response = client.get("/users/customers/", {"stage": "active"})

    assert [c.distinct_id for c in response.context["customers"]] == ["alice"]


def test_customer_list_bad_filter_is_a_400_with_the_field(client_for, customers):
    response = client_for(Role.USER_OPS).get("/users/customers/", {"min_orders": "-1"})

    assert response.status_code == 400
    assert "min_orders" in response.context["form"].errors


def test_customer_list_query_count_is_flat(client_for, customers, django_assert_num_queries):
    client = client_for(Role.USER_OPS)
    client.get("/users/customers/")

    # session, user, roles, customers
    with django_assert_num_queries(4):
        client.get("/users/customers/")


def test_export_streams_every_matching_customer(client_for, customers):
    response = client_for(Role.ANALYST).get("/users/customers/export.csv", {"min_orders": "1"})

    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("\ufeffCustomer (distinct_id),First seen (first_seen_at),First-touch channel")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["alice", "carol"]


def test_refresh_page_queues_the_task_for_user_ops(client_for, customers, celery_eager,
                                                   django_capture_on_commit_callbacks):
    client = client_for(Role.USER_OPS)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/users/refresh/")

    assert response.status_code == 302
    assert CustomerRefresh.objects.filter(trigger="manual").count() == 2


def test_refresh_is_refused_to_analysts(client_for, customers):
    response = client_for(Role.ANALYST).post("/users/refresh/")

    assert response.status_code == 403
    assert CustomerRefresh.objects.count() == 1


def test_spend_form_saves_and_bad_input_saves_nothing(client_for, db):
    client = client_for(Role.USER_OPS)

    client.post("/users/channels/spend/", {"channel": "wechat", "period_start": "2026-06-01",
                                           "period_end": "2026-06-30", "amount": "300"})
    client.post("/users/channels/spend/", {"channel": "wechat", "period_start": "2026-06-30",
                                           "period_end": "2026-06-01", "amount": "1"})
    client.post("/users/channels/spend/", {"channel": "x", "period_start": "nope", "amount": "-1"})

    assert list(ChannelSpend.objects.values_list("channel", "amount")) == [("wechat", 300)]


def test_spend_import_page(client_for, db):
    upload = SimpleUploadedFile("spend.csv",
                                b"channel,period_start,period_end,amount\nwechat,2026-06-01,2026-06-30,5\n")

    response = client_for(Role.ADMIN).post("/users/channels/spend/import/", {"file": upload})

    assert response.status_code == 302
    assert ChannelSpend.objects.count() == 1


def test_channels_page_bad_range_is_a_400(client_for, db):
    response = client_for(Role.PM).get("/users/channels/", {"date_from": "2026-06-10", "date_to": "2026-06-01"})

    assert response.status_code == 400
    assert "date_to" in response.context["form"].errors


# API


def test_api_customer_list_is_paginated_and_filtered(api_client_for, customers):
    response = api_client_for(Role.ANALYST).get("/api/v1/users/customers/", {"channel": "douyin"})

    body = response.json()
    assert body["count"] == 1
    assert body["results"][0]["distinct_id"] == "bob"
    assert body["results"][0]["referrer"] == "alice"


def test_api_customer_list_bad_filter_has_field_errors(api_client_for, customers):
    response = api_client_for(Role.ANALYST).get("/api/v1/users/customers/", {"stage": "sleepy"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["stage"]


def test_api_customer_list_query_count(api_client_for, customers, django_assert_num_queries):
    client = api_client_for(Role.ANALYST)

    # roles, count, page
    with django_assert_num_queries(3):
        client.get("/api/v1/users/customers/")


def test_api_customer_detail_has_the_timeline(api_client_for, customers):
    response = api_client_for(Role.USER_OPS).get("/api/v1/users/customers/bob/")

    body = response.json()
    assert [event["event"] for event in body["timeline"]] == ["signup", "visit"]
    assert body["stage"] == "new"


def test_api_pm_reads_the_summary_not_the_customers(api_client_for, customers):
    client = api_client_for(Role.PM)

    assert client.get("/api/v1/users/summary/").json()["customers"] == 3
    assert client.get("/api/v1/users/customers/").status_code == 403


def test_api_refresh(api_client_for, customers, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(Role.USER_OPS).post("/api/v1/users/refresh/")

    assert response.status_code == 202
    assert CustomerRefresh.objects.count() == 2


def test_api_spend_create_and_validation(api_client_for, db):
    client = api_client_for(Role.USER_OPS)

    created = client.post("/api/v1/users/channels/spend/", {"channel": "wechat", "period_start": "2026-06-01",
                                                            "period_end": "2026-06-30", "amount": "300"},
                          format="json")
    bad = client.post("/api/v1/users/channels/spend/", {"channel": "wechat", "period_start": "2026-06-30",
                                                        "period_end": "2026-06-01", "amount": "-3"}, format="json")
    reversed_period = client.post("/api/v1/users/channels/spend/", {
        "channel": "wechat", "period_start": "2026-06-30", "period_end": "2026-06-01", "amount": "3"}, format="json")

    assert created.status_code == 201
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["amount"]
    assert reversed_period.status_code == 400
    assert list(reversed_period.json()["errors"]) == ["period_end"]
    assert ChannelSpend.objects.count() == 1


def test_api_spend_is_read_only_for_analysts(api_client_for, db):
    response = api_client_for(Role.ANALYST).post("/api/v1/users/channels/spend/", {}, format="json")

    assert response.status_code == 403


def test_api_spend_import_reports_rows(api_client_for, db):
    upload = io.BytesIO(b"channel,period_start,period_end,amount\nwechat,2026-06-01,2026-06-30,5\nx,bad,bad,1\n")
    upload.name = "spend.csv"

    response = api_client_for(Role.USER_OPS).post("/api/v1/users/channels/spend/import/", {"file": upload},
                                                  format="multipart")

    assert response.status_code == 200
    assert response.json()["imported"] == 1
    assert [row["row"] for row in response.json()["rejected"]] == [3]


def test_api_spend_import_unreadable_file_is_a_400(api_client_for, db):
    upload = io.BytesIO(b"nothing")
    upload.name = "spend.pdf"

    response = api_client_for(Role.USER_OPS).post("/api/v1/users/channels/spend/import/", {"file": upload},
                                                  format="multipart")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]


def test_api_channel_quality_and_lifecycle(api_client_for, customers):
    client = api_client_for(Role.MERCHANT_OPS)

    quality = client.get("/api/v1/users/channels/quality/").json()
    lifecycle = client.get("/api/v1/users/lifecycle/").json()
    bad = client.get("/api/v1/users/lifecycle/", {"date_from": "1900-01-01"})

    assert sorted(row["channel"] for row in quality["channels"]) == ["douyin", "wechat"]  # carol came 40 days ago
    assert sum(lifecycle["stages"]["new"]) == 1
    assert lifecycle["labels"]["at_risk"] == "at risk"
    assert {(f["from_label"], f["to_label"]) for f in lifecycle["flows"]} >= {("", "new")}
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["date_from"]
