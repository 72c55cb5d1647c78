"""Channel quality, life cycle, RFM, the customers with their RFM scores, merchant tiers and ticket lists download as
CSV and XLSX from their pages and from the export API with the page's parameters (ops_platform/core/report_files.py),
holding the figures the page shows; the large ones run as export jobs too."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import openpyxl
import pytest
from django.utils import timezone

from analytics.models import ExportJob
from analytics.services.loading import events_load
from merchants.models import Tier
from ops_platform.core.exports import header_code
from ops_platform.core.roles import Role
from products.models import Ticket
from tests.factories import MerchantFactory, TicketFactory, event_row
from users.models import Customer, Stage, StageDaily, StageFlow
from users.services.customers import customers_refresh

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    """The CSV's rows keyed by the columns' codes (``Label (code)`` headers)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    codes = [header_code(cell) for cell in rows[0]]
    return [dict(zip(codes, row, strict=False)) for row in rows[1:]]  # several tables: the first one's header


def _sheets(response) -> dict[str, list[dict]]:
    """Each sheet's rows keyed by the columns' codes."""
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheets = {}
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        codes = [header_code(str(cell)) for cell in rows[0]]
        sheets[sheet.title] = [dict(zip(codes, row, strict=True)) for row in rows[1:]]
    return sheets


@pytest.fixture
def customers_data():
    now = timezone.now()
    events_load([
        event_row("visit", "=1+1", now - timedelta(days=3), channel="@evil", utm_source="-2+3"),
        event_row("signup", "=1+1", now - timedelta(days=3) + timedelta(minutes=3)),
        event_row("order_paid", "=1+1", now - timedelta(days=2), order_id="1", amount=5, merchant_id="m"),
        event_row("visit", "bob", now - timedelta(days=3), channel="wechat"),
        event_row("signup", "bob", now - timedelta(days=3) + timedelta(minutes=3)),
        event_row("visit", "carol", now - timedelta(days=4), channel="wechat"),
    ])
    customers_refresh()
    today = timezone.localdate()
    return {"date_from": (today - timedelta(days=7)).isoformat(), "date_to": today.isoformat()}


# Channel quality


def test_channel_quality_file_holds_the_pages_figures(client_for, customers_data):
    client = client_for(Role.MERCHANT_OPS)
    page = client.get("/users/channels/", customers_data)
    as_csv = client.get("/users/channels/export/", customers_data)
    as_xlsx = client.get("/users/channels/export/", {**customers_data, "file_format": "xlsx"})

    assert page.status_code == as_csv.status_code == as_xlsx.status_code == 200
    expected = {row["channel"]: (row["visitors"], row["signups"]) for row in page.context["quality"]["channels"]}
    assert expected == {"@evil": (1, 1), "wechat": (2, 1)}
    rows = _csv(as_csv)
    assert {row["channel"]: (int(row["visitors"]), int(row["signups"])) for row in rows} == {
        "'@evil": (1, 1), "wechat": (2, 1)}  # the channel a visitor named is neutralised
    assert [row["rank"] for row in rows] == ["1", "2"]
    sheet = next(iter(_sheets(as_xlsx).values()))
    assert {row["channel"]: (row["visitors"], row["signups"]) for row in sheet} == expected
    assert 'href="/users/channels/export/?' in page.content.decode()


def test_channel_quality_downloads_from_the_api_with_the_pages_parameters(api_client_for, customers_data):
    client = api_client_for(Role.PM)
    api = client.get("/api/v1/users/channels/quality/", customers_data).json()

    response = client.get("/api/v1/analytics/exports/download/", {"kind": "channel_quality", **customers_data})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(
        f'channel_quality_{customers_data["date_from"]}_{customers_data["date_to"]}.csv"')
    assert sorted(int(row["visitors"]) for row in _csv(response)) == sorted(
        row["visitors"] for row in api["channels"])


def test_a_bad_range_is_a_400_with_the_field_never_a_500(client_for, api_client_for, db):
    page = client_for(Role.ANALYST).get("/users/channels/export/", {"date_from": "2026-13-01"})
    api = api_client_for(Role.ANALYST).get("/api/v1/analytics/exports/download/", {
        "kind": "lifecycle", "date_from": "2026-11-30", "date_to": "2026-11-01"})

    assert page.status_code == 400 and "attachment" not in page.get("Content-Disposition", "")
    assert api.status_code == 400 and api.json()["errors"]


# Life cycle


def test_lifecycle_file_holds_the_pages_flows_and_days(client_for, db):
    today = timezone.localdate()
    day = today - timedelta(days=2)
    StageDaily.objects.create(date=day, stage=Stage.ACTIVE, customers=7)
    StageDaily.objects.create(date=day, stage=Stage.CHURNED, customers=2)
    StageFlow.objects.create(date=day, from_stage="", to_stage=Stage.NEW, customers=4)
    StageFlow.objects.create(date=day, from_stage=Stage.ACTIVE, to_stage=Stage.AT_RISK, customers=3)
    params = {"date_from": (today - timedelta(days=5)).isoformat(), "date_to": today.isoformat()}
    client = client_for(Role.PRODUCT_OPS)

    page = client.get("/users/lifecycle/", params)
    sheets = _sheets(client.get("/users/lifecycle/export/", {**params, "file_format": "xlsx"}))

    days, flows = sheets["Customers per stage per day"], sheets["Flows between stages"]
    assert [(row["date"].date(), row["active"], row["churned"]) for row in days] == [(day, 7, 2)]
    assert [(flow["from_stage"], flow["to_stage"], flow["customers"]) for flow in page.context["flows"]] == [
        (row["from_stage"] or "", row["to_stage"], row["customers"]) for row in flows]
    assert flows[0]["from_label"] == "(first seen)"


# RFM


def test_rfm_file_holds_the_pages_grid(client_for, customers_data):
    client = client_for(Role.MERCHANT_OPS)
    page = client.get("/users/")
    sheets = _sheets(client.get("/users/rfm/export/", {"file_format": "xlsx"}))

    grid = {(cell["recency"], cell["frequency"]): cell["customers"] for cell in sheets["RFM grid"]}
    expected = {(row["recency"], cell["frequency"]): cell["customers"]
                for row in page.context["summary"]["rfm_grid"] for cell in row["cells"]}
    assert grid == expected and len(grid) == 25 and sum(grid.values()) == 1
    assert {row["stage"]: row["customers"] for row in sheets["Life-cycle stages"]} == {
        row["stage"]: row["customers"] for row in page.context["summary"]["stages"]}
    html = page.content.decode()
    assert "/users/rfm/export/?" in html
    assert 'data-testid="rfm-customers-export"' not in html  # merchant ops may not read single customers


def test_customers_with_their_rfm_scores_need_customer_records(client_for, api_client_for, customers_data):
    assert client_for(Role.PM).get("/users/customers/export/").status_code == 403
    refused = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {"kind": "customers"})
    assert refused.status_code == 403

    rows = _csv(client_for(Role.ANALYST).get("/users/customers/export/", {"min_orders": "1"}))

    buyer = Customer.objects.get(distinct_id="=1+1")
    assert [(row["distinct_id"], row["recency_score"], row["frequency_score"], row["rfm_segment"]) for row in rows] == [
        ("'=1+1", str(buyer.recency_score), str(buyer.frequency_score), buyer.rfm_segment)]
    assert buyer.rfm_segment


@pytest.mark.usefixtures("celery_eager")
def test_customers_export_job_from_the_page_runs_with_progress(client_for, customers_data, settings, tmp_path,
                                                               django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(Role.ANALYST)
    html = client.get("/users/customers/", {"min_orders": "1"}).content.decode()
    assert 'data-testid="export-background"' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/analytics/exports/report/", {"kind": "customers", "file_format": "xlsx",
                                                              "query": "min_orders=1"})

    assert response.status_code == 302 and response["Location"] == "/analytics/exports/"
    job = ExportJob.objects.get()
    assert (job.kind, job.status, job.rows_total, job.rows_done) == ("customers", "done", 1, 1)
    assert job.params["min_orders"] == ["1"]
    file = client.get(f"/api/v1/analytics/exports/{job.id}/file/")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(file.streaming_content))).worksheets[0]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"


def test_a_background_export_with_bad_parameters_records_nothing(client_for, db):
    response = client_for(Role.ANALYST).post("/analytics/exports/report/", {
        "kind": "tickets", "file_format": "csv", "query": "priority=99"})

    assert response.status_code == 302
    assert not ExportJob.objects.exists()


# Merchant tiers


def test_tiers_file_holds_the_pages_lists(client_for, db):
    MerchantFactory(code="M1", name="=HYPERLINK(\"http://x\")", tier=Tier.POTENTIAL, health_score=99)
    MerchantFactory(code="M2", tier=Tier.CORE, health_score=90)
    client = client_for(Role.USER_OPS)

    page = client.get("/merchants/tiers/")
    sheets = _sheets(client.get("/merchants/tiers/export/", {"file_format": "xlsx"}))
    rows = _csv(client.get("/merchants/tiers/export/"))

    assert {row["tier"]: row["merchants"] for row in sheets["Merchants per tier"]} == {
        row["tier"]: row["count"] for row in page.context["distribution"]}
    candidates = [row for row in sheets["Candidates and rotate-out"] if row["list"] == "upgrade_candidate"]
    assert [row["merchant"] for row in candidates] == [m.code for m in page.context["candidates"]] == ["M1"]
    assert candidates[0]["name"] == "=HYPERLINK(\"http://x\")"  # a string cell, quote-prefixed (test_exports)
    assert (rows[0]["Table"], rows[0]["tier"], rows[0]["tier_label"], rows[0]["merchants"]) == (
        "Merchants per tier", "core", "core", "1")


# Ticket lists


def test_ticket_list_file_has_the_pages_filters_and_every_ticket(client_for, make_staff, db):
    pm = make_staff(Role.PM)
    TicketFactory(title="=1+1", status=Ticket.Status.PROPOSED, priority=Ticket.Priority.HIGH, requester=pm)
    TicketFactory(title="Checkout", status=Ticket.Status.PROPOSED)
    TicketFactory(title="Launched", status=Ticket.Status.LAUNCHED)
    client = client_for(Role.MERCHANT_OPS)
    query = {"status": "proposed"}

    page = client.get("/products/tickets/", query)
    rows = _csv(client.get("/products/tickets/export/", query))
    sheet = next(iter(_sheets(client.get("/products/tickets/export/", {**query, "file_format": "xlsx"})).values()))

    assert [row["key"] for row in rows] == [ticket.key for ticket in page.context["tickets"]]
    assert [row["title"] for row in rows] == ["'=1+1", "Checkout"]
    assert [row["title"] for row in sheet] == ["=1+1", "Checkout"]
    assert rows[0]["status"] == "proposed" and rows[0]["requester"] == pm.username
    assert rows[0]["created_at"].endswith("+08:00")  # TIME_ZONE


def test_my_tickets_file_is_the_readers_own(client, make_staff, api_client_for, db):
    pm, other = make_staff(Role.PM), make_staff(Role.PM)
    mine = TicketFactory(title="Mine", requester=pm)
    TicketFactory(title="Theirs", requester=other)
    client.force_login(pm)

    rows = _csv(client.get("/products/tickets/mine/export/"))
    api = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {"kind": "tickets", "mine": "1"})

    assert [row["key"] for row in rows] == [mine.key]
    assert _csv(api) == []  # the API's caller is another PM: their own tickets, never a named person's


def test_the_api_takes_the_lists_kind_filter_as_ticket_kind(api_client_for, db):
    TicketFactory(title="A bug", kind=Ticket.Kind.BUG)
    TicketFactory(title="A feature", kind=Ticket.Kind.FEATURE)

    response = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {
        "kind": "tickets", "ticket_kind": "bug", "file_format": "csv"})

    assert [row["title"] for row in _csv(response)] == ["A bug"]


def test_ticket_list_bad_filter_is_a_400(client_for, api_client_for, db):
    page = client_for(Role.PM).get("/products/tickets/export/", {"priority": "99"})
    api = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {"kind": "tickets", "priority": "99"})

    assert page.status_code == 400
    assert api.status_code == 400 and "priority" in api.json()["errors"]


@pytest.mark.parametrize("kind", ["channel_quality", "lifecycle", "rfm", "tiers", "tickets"])
def test_every_new_report_is_a_choice_of_the_export_api(api_client_for, db, kind):
    response = api_client_for(Role.ADMIN).get("/api/v1/analytics/exports/download/", {"kind": kind,
                                                                                      "file_format": "xlsx"})

    assert response.status_code == 200, response.content[:300]
    assert openpyxl.load_workbook(io.BytesIO(response.content)).worksheets


def _exports_page_rows(response) -> list[tuple[str, str]]:
    """(report, parameters) of each job row of the exports page, as the reader sees them."""
    html = response.content.decode()
    rows = re.findall(r'<td data-kind="[^"]*">([^<]*)</td>\s*'
                      r'<td class="muted" data-testid="export-params">([^<]*)</td>', html)
    return [(unescape(kind), unescape(params)) for kind, params in rows]


def test_the_exports_page_lists_a_jobs_parameters_as_a_reader_reads_them(client_for, make_staff):
    analyst = make_staff(Role.ANALYST)
    ExportJob.objects.create(kind="tickets", params={"status": ["proposed", "triaged"], "open": ["on"]},
                             created_by=analyst)

    rows = _exports_page_rows(client_for(Role.ADMIN).get("/analytics/exports/"))

    assert rows == [("Requirements", "Status: proposed, triaged; Open only: Yes")]  # the form's order


AS_OF = "2026-12-03T07:00:28.903407+00:00"


@pytest.mark.parametrize("language, expected", [
    ("en", [("Trends", "From: 2026-11-01; To: 2026-11-30; Event: visit; Measure: Unique customers; Interval: Week"),
            ("Raw events", "From: 2026-11-01; To: 2026-11-30; Channel: WeChat"),
            ("Merchant tiers", "")]),
    ("zh-hans", [("趋势", "开始：2026-11-01; 结束：2026-11-30; 事件：visit; 衡量：去重客户数; 时间粒度：周"),
                 ("原始事件", "开始：2026-11-01; 结束：2026-11-30; 渠道：微信"),
                 ("商家分层", "")]),
    ("zh-hant", [("趨勢", "開始：2026-11-01; 結束：2026-11-30; 事件：visit; 衡量：去重客戶數; 時間粒度：周"),
                 ("原始事件", "開始：2026-11-01; 結束：2026-11-30; 渠道：微信"),
                 ("商家分層", "")]),
])
def test_the_exports_page_names_reports_and_parameters_in_the_readers_language(client_for, make_staff, language,
                                                                                expected):
    """The report by its name, the parameters by their labels and their values' labels, never the codes, and the
    job's internal snapshot time (as_of) left out: it is the job's "Created" time."""
    analyst = make_staff(Role.ANALYST)
    now = timezone.now()
    for minutes, (kind, params) in enumerate([
        ("trends", {"event": ["visit"], "measure": ["unique"], "interval": ["week"], "date_from": ["2026-11-01"],
                    "date_to": ["2026-11-30"], "as_of": AS_OF}),
        ("events", {"date_from": "2026-11-01", "date_to": "2026-11-30", "channel": "wechat", "as_of": AS_OF}),
        ("tiers", {"as_of": AS_OF}),
    ]):
        ExportJob.objects.create(kind=kind, params=params, created_by=analyst,
                                 created_at=now - timedelta(minutes=minutes))

    response = client_for(Role.ADMIN).get("/analytics/exports/", HTTP_ACCEPT_LANGUAGE=language)

    assert _exports_page_rows(response) == expected
    assert "as_of" not in response.content.decode() and "07:00:28" not in response.content.decode()


def test_a_parameter_time_reads_in_the_time_zone():
    from ops_platform.core.report_files import report_params_display

    assert report_params_display("tickets", {"updated_after": "2026-12-03T07:00:28+00:00"}) == [
        ("updated_after", "2026-12-03 15:00")]  # Asia/Shanghai


# A file format no report downloads as


PAGE_EXPORTS = ["/analytics/funnel/export/", "/analytics/retention/export/", "/analytics/golden-time/export/",
                "/analytics/trends/export/", "/analytics/stickiness/export/", "/users/channels/export/",
                "/users/lifecycle/export/", "/users/rfm/export/", "/users/customers/export/",
                "/merchants/tiers/export/", "/products/tickets/export/", "/products/tickets/mine/export/"]


@pytest.mark.parametrize("url", PAGE_EXPORTS)
@pytest.mark.parametrize("file_format", ["pdf", "doc", "CSV"])
def test_a_page_export_refuses_a_file_format_it_does_not_write(client_for, db, url, file_format):
    response = client_for(Role.ADMIN).get(url, {"file_format": file_format})

    assert response.status_code == 400
    assert "attachment" not in response.get("Content-Disposition", "")
    assert [str(message) for message in response.context["messages"]] == [
        f"“{file_format}” is not a file format a report downloads as: choose CSV or XLSX."]


def test_a_refused_file_format_reads_in_the_readers_language(client_for, db):
    response = client_for(Role.ADMIN).get("/analytics/trends/export/", {"file_format": "pdf"},
                                          HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 400
    assert "“pdf”不是报表可下载的文件格式：请选择 CSV 或 XLSX。" in response.content.decode()


@pytest.mark.parametrize("file_format", ["", "csv", "xlsx"])
def test_a_page_export_takes_csv_by_default_and_xlsx(client_for, db, file_format):
    response = client_for(Role.ADMIN).get("/merchants/tiers/export/", {"file_format": file_format})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'.{file_format or "csv"}"')


def test_a_background_export_in_a_format_no_report_writes_records_nothing(client_for, db):
    response = client_for(Role.ANALYST).post("/analytics/exports/report/", {
        "kind": "tiers", "file_format": "pdf", "query": ""}, follow=True)

    assert [str(message) for message in response.context["messages"]] == [
        "“pdf” is not a file format a report downloads as: choose CSV or XLSX."]
    assert not ExportJob.objects.exists()
