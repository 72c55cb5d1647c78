"""Reports as CSV and XLSX: direct downloads and export jobs on the workers."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from analytics import apis
from analytics.models import AarrrDaily, ExportJob
from analytics.services import exports
from ops_platform.core.roles import Role

DAY = date(2026, 3, 10)
DOWNLOAD = "/api/v1/analytics/exports/download/"


@pytest.fixture
def stored(db):
    AarrrDaily.objects.bulk_create([
        AarrrDaily(date=DAY, channel="wechat", acquisition=8, activation=2, retention=1, revenue=Decimal("1234.50"),
                   paying_customers=2, referral=1),
        AarrrDaily(date=DAY, channel="抖音", acquisition=0, activation=1),
        AarrrDaily(date=DAY + timedelta(days=40), channel="wechat", acquisition=1),
    ])


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_csv_streams_the_rows_with_percentages_as_percentages(api_client_for, stored):
    response = api_client_for(Role.MERCHANT_OPS).get(DOWNLOAD, {"kind": "aarrr", "file_format": "csv",
                                                                "date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="aarrr_2026-03-01_2026-03-31.csv"'
    assert body_of(response).splitlines() == [
        "\ufeffDate,Channel,Acquisition,Activation,Activation rate,Retention,Revenue,Paying customers,Referral",
        "2026-03-10,wechat,8,2,25.00%,1,1234.50,2,1",
        "2026-03-10,抖音,0,1,0.00%,0,0.00,0,0",
    ]


def test_csv_header_follows_the_language(api_client_for, stored):
    client = api_client_for(Role.ANALYST)

    response = client.get(DOWNLOAD, {"kind": "aarrr", "date_from": "2026-03-10", "date_to": "2026-03-10"},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert body_of(response).splitlines()[0].startswith("\ufeff日期,渠道,获取,激活,激活率")


def test_xlsx_has_a_formatted_header_and_typed_cells(api_client_for, stored):
    response = api_client_for(Role.PM).get(DOWNLOAD, {"kind": "aarrr", "file_format": "xlsx",
                                                      "date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = list(sheet[1])
    assert [cell.value for cell in header][:5] == ["Date", "Channel", "Acquisition", "Activation", "Activation rate"]
    assert all(cell.font.bold for cell in header)
    row = {header[i].value: cell for i, cell in enumerate(sheet[2])}
    assert row["Activation rate"].value == 0.25
    assert row["Activation rate"].number_format == "0.0%"
    assert row["Revenue"].value == 1234.5
    assert row["Revenue"].number_format == "#,##0.00"
    assert row["Date"].value.date() == DAY
    assert sheet.max_row == 3
    assert sheet.freeze_panes == "A2"


def test_a_large_xlsx_is_sent_to_an_export_job(api_client_for, stored, monkeypatch):
    monkeypatch.setattr(apis, "XLSX_DIRECT_LIMIT", 1)

    response = api_client_for(Role.ANALYST).get(DOWNLOAD, {"kind": "aarrr", "file_format": "xlsx",
                                                           "date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert response.status_code == 413
    assert response.json()["errors"] == {"file_format": ["Use an export job or CSV for more than 100,000 rows."]}
    assert "Start an export job" in response.json()["message"]


@pytest.mark.parametrize("params, field", [
    ({"kind": "nope"}, "kind"),
    ({"kind": "aarrr", "file_format": "pdf"}, "file_format"),
    ({"kind": "aarrr", "date_from": "2026-03-31", "date_to": "2026-03-01"}, "date_from"),
])
def test_bad_download_parameters_are_a_400(api_client_for, db, params, field):
    response = api_client_for(Role.ANALYST).get(DOWNLOAD, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.usefixtures("celery_eager")
def test_an_export_job_runs_and_its_file_downloads(api_client_for, stored, django_capture_on_commit_callbacks,
                                                   settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = api_client_for(Role.ANALYST)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/analytics/exports/", {
            "kind": "aarrr", "file_format": "xlsx", "params": {"date_from": "2026-03-01", "date_to": "2026-04-30"}},
            format="json")

    assert created.status_code == 202
    assert created.json()["status"] == "queued"
    status = client.get(created.json()["status_url"]).json()
    assert status["status"] == "done"
    assert status["percent"] == 100
    assert status["rows_total"] == status["rows_done"] == 3
    as_of = status["params"].pop("as_of")  # the data as of the request (a late or retried run exports the same)
    assert status["params"] == {"date_from": "2026-03-01", "date_to": "2026-04-30"}
    assert datetime.fromisoformat(as_of) == datetime.fromisoformat(status["created_at"])
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert 'filename="aarrr_2026-03-01_2026-04-30.xlsx"' in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.max_row == 4


@pytest.mark.usefixtures("celery_eager")
def test_an_export_job_is_seen_by_its_creator_and_administrators_only(api_client_for, stored, settings, tmp_path,
                                                                       django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client_for(Role.ANALYST).post("/api/v1/analytics/exports/", {
            "kind": "aarrr", "params": {"date_from": "2026-03-01", "date_to": "2026-03-31"}}, format="json")
    job_id = created.json()["id"]

    other = api_client_for(Role.ANALYST)
    assert other.get(f"/api/v1/analytics/exports/{job_id}/").status_code == 404
    assert other.get(f"/api/v1/analytics/exports/{job_id}/file/").status_code == 404
    admin = api_client_for(Role.ADMIN)
    assert admin.get(f"/api/v1/analytics/exports/{job_id}/").json()["status"] == "done"
    assert admin.get(f"/api/v1/analytics/exports/{job_id}/file/").status_code == 200


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.PM])
def test_export_jobs_are_for_analysts_and_admins(api_client_for, db, role):
    response = api_client_for(role).post("/api/v1/analytics/exports/", {
        "kind": "aarrr", "params": {"date_from": "2026-03-01", "date_to": "2026-03-31"}}, format="json")

    assert response.status_code == 403
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"kind": "aarrr", "params": "2026"}, "params"),
    ({"kind": "aarrr", "params": {"date_from": "x"}}, "date_from"),
    ({"params": {}}, "kind"),
])
def test_bad_export_jobs_are_a_400(api_client_for, db, body, field):
    response = api_client_for(Role.ADMIN).post("/api/v1/analytics/exports/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ExportJob.objects.exists()


def test_a_job_not_finished_has_no_file_yet(api_client_for, db, make_staff):
    analyst = make_staff(Role.ANALYST)
    job = ExportJob.objects.create(kind="aarrr", params={}, created_by=analyst, rows_total=10, rows_done=4,
                                   status=ExportJob.Status.RUNNING)
    client = APIClient()
    client.force_authenticate(analyst)

    assert client.get(f"/api/v1/analytics/exports/{job.id}/").json()["percent"] == 40
    response = client.get(f"/api/v1/analytics/exports/{job.id}/file/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_ready"


def test_a_failing_job_is_recorded(db, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    job = ExportJob.objects.create(kind="aarrr", params={"date_from": "2026-03-01", "date_to": "2026-03-31"})

    def broken(report, target, progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(exports.writer, "csv_write", broken)

    with pytest.raises(OSError):
        exports.export_job_execute(job_id=job.id)

    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == "OSError: disk full"
    assert not list(tmp_path.rglob("*.csv"))


def test_raw_events_export_in_local_time(api_client_for, db):
    from analytics.services.loading import events_load
    from tests.factories import event_row, local_time

    events_load([
        event_row("visit", "ann", local_time(DAY, 0, 30), channel="wechat"),
        event_row("order_paid", "ann", local_time(DAY, 12), note="中文"),
        event_row("visit", "bob", local_time(DAY + timedelta(days=1), 9), channel="douyin"),
    ])

    response = api_client_for(Role.ANALYST).get(DOWNLOAD, {"kind": "events", "date_from": "2026-03-10",
                                                           "date_to": "2026-03-10"})

    assert body_of(response).splitlines() == [
        "\ufeffTime,Event,Customer,Channel,Properties",
        '2026-03-10T00:30:00+08:00,visit,ann,wechat,"{""channel"": ""wechat""}"',
        '2026-03-10T12:00:00+08:00,order_paid,ann,,"{""note"": ""中文""}"',
    ]


def test_an_export_job_exports_the_events_stored_when_it_was_requested(db, make_staff, settings, tmp_path,
                                                                       today_is):
    from analytics.services.loading import events_load
    from tests.factories import event_row, local_time

    settings.MEDIA_ROOT = tmp_path
    events_load([event_row("visit", "ann", local_time(DAY, 9), channel="wechat")])
    job = exports.export_job_create(kind="events", params={"date_from": "2026-03-10", "date_to": "2026-03-10"},
                                    file_format="csv", created_by=make_staff(Role.ANALYST))
    today_is(timezone.now() + timedelta(minutes=5))  # a late event for the same day arrives before the job runs
    events_load([event_row("visit", "late", local_time(DAY, 10), channel="wechat")])

    done = exports.export_job_execute(job_id=job.id)

    lines = done.file.open("rb").read().decode("utf-8-sig").splitlines()
    assert [line.split(",")[2] for line in lines[1:]] == ["ann"]
    assert done.rows_done == 1


def test_a_raw_events_export_of_an_unknown_event_is_a_400_with_the_nearest_names(api_client_for, db):
    from analytics.services.loading import events_load
    from tests.factories import event_row, local_time

    events_load([event_row("visit", "ann", local_time(DAY, 9)), event_row("order_paid", "ann", local_time(DAY, 10))])
    client = api_client_for(Role.ANALYST)
    range_ = {"date_from": "2026-03-01", "date_to": "2026-03-31"}

    download = client.get(DOWNLOAD, {"kind": "events", "event": "order_payed", **range_})
    job = client.post("/api/v1/analytics/exports/", {"kind": "events", "file_format": "csv",
                                                     "params": {"event": "order_payed", **range_}}, format="json")

    for response in (download, job):
        assert response.status_code == 400
        [message] = response.json()["errors"]["event"]
        assert message.startswith("No event named “order_payed” has been stored. Nearest: order_paid")
    assert not ExportJob.objects.exists()
    known = client.get(DOWNLOAD, {"kind": "events", "event": "order_paid", **range_})
    assert known.status_code == 200 and len(body_of(known).splitlines()) == 2


def test_a_job_for_an_unknown_report_or_format_is_refused_in_the_readers_language(make_staff):
    from django.utils import translation

    from analytics.services.exports import export_job_create
    from ops_platform.core.exceptions import ApplicationError

    analyst = make_staff(Role.ANALYST)
    with translation.override("zh-hans"):
        with pytest.raises(ApplicationError) as unknown:
            export_job_create(kind="nope", params={}, file_format="csv", created_by=analyst)
        with pytest.raises(ApplicationError) as bad_format:
            export_job_create(kind="trends", params={}, file_format="pdf", created_by=analyst)

    assert unknown.value.message == "未知的报表“nope”。" and "trends" in unknown.value.errors["kind"][0]
    assert bad_format.value.errors == {"file_format": ["请选择 csv 或 xlsx。"]}
