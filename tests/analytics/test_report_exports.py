"""Funnel, retention, golden time, trends and stickiness download as CSV and XLSX from their pages and the API, with
the page's parameters and the figures the page shows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
from django.utils import timezone

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)
RANGE = {"date_from": "2026-11-20", "date_to": "2026-11-22"}
REPORTS = {
    "funnel": ("/analytics/funnel/export/", {"steps": ["visit", "order_paid"], "window_days": "3",
                                             "breakdown": "channel", **RANGE}),
    "retention": ("/analytics/retention/export/", {"cohort_event": "visit", "return_event": "order_paid",
                                                   "period": "day", "periods": "3", **RANGE}),
    "golden_time": ("/analytics/golden-time/export/", {"event": "visit", **RANGE}),
    "trends": ("/analytics/trends/export/", {"event": "order_paid", "measure": "sum", "property": "amount",
                                             "breakdown": "properties.merchant_id", **RANGE}),
    "stickiness": ("/analytics/stickiness/export/", {"event": "visit", **RANGE}),
}


def _events():
    events_load([
        event_row("visit", "a", local_time(DAY, 9), channel="=cmd|x"),
        event_row("visit", "b", local_time(DAY, 9), channel="wechat"),
        event_row("order_paid", "a", local_time(DAY, 10), amount=12.5, merchant_id="m1"),
        event_row("order_paid", "b", local_time(DAY, 11), amount=7, merchant_id="商家"),
    ])


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("kind", list(REPORTS))
def test_each_report_downloads_from_its_page_as_csv_and_xlsx(client_for, kind):
    _events()
    url, params = REPORTS[kind]
    client = client_for(Role.MERCHANT_OPS)

    as_csv = client.get(url, params)
    as_xlsx = client.get(url, {**params, "file_format": "xlsx"})

    assert as_csv.status_code == 200 and as_xlsx.status_code == 200
    rows = _csv(as_csv)
    assert len(rows) > 1
    workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    assert workbook.worksheets[0].max_row > 1


def test_the_files_hold_the_figures_the_api_gives(api_client_for, client_for):
    _events()
    url, params = REPORTS["trends"]
    api = api_client_for(Role.ANALYST).get("/api/v1/analytics/trends/", params).json()
    rows = _csv(client_for(Role.ANALYST).get(url, params))
    values = {(row[1], row[3]): row[4] for row in rows[1:]}
    for series in api["series"]:
        for point in series["points"]:
            expected = "" if point["value"] is None else str(point["value"])
            assert values[(series["breakdown_value"], point["period"])] == expected
    funnel_rows = _csv(client_for(Role.ANALYST).get(*REPORTS["funnel"]))
    assert ["Funnel by channel", "'=cmd|x"] in [row[:2] for row in funnel_rows]  # a formula neutralised


def test_a_funnel_file_says_which_entrants_can_still_convert(client_for):
    # read on 2026-11-25 10:00: entrants of 20 November have 2 more days of their 7-day window
    _events()
    url, params = REPORTS["funnel"]

    rows = _csv(client_for(Role.ANALYST).get(url, {**params, "window_days": "7"}))

    def window(rows):
        at = {label: index for index, label in enumerate(rows[0])}
        return [(row[at["Entrants of"]], row[at["Entrants whose window is still open"]], row[at["Final"]])
                for row in rows[1:] if row and row[0] == "Conversion window of 7 days"]

    assert window(rows) == [("Every entrant", "2", "No"), ("'=cmd|x", "1", "No"), ("wechat", "1", "No")]
    closed = _csv(client_for(Role.ANALYST).get(url, {**params, "window_days": "7", "closed_only": "on"}))
    assert window(closed) == [("Every entrant", "0", "No")]  # nobody's window has closed yet: not final either


def test_the_api_download_and_a_job_take_the_same_parameters(api_client_for):
    _events()
    client = api_client_for(Role.ANALYST)
    response = client.get("/api/v1/analytics/exports/download/", {"kind": "trends", "file_format": "csv",
                                                                  **REPORTS["trends"][1]})
    assert response.status_code == 200
    bad = client.get("/api/v1/analytics/exports/download/", {"kind": "funnel", "steps": "visit", **RANGE})
    assert bad.status_code == 400 and "steps" in str(bad.json())
    job = client.post("/api/v1/analytics/exports/", {"kind": "golden_time", "file_format": "xlsx",
                                                     "params": {"event": "visit", **RANGE}}, format="json")
    assert job.status_code == 202, job.json()
    assert job.json()["params"]["event"] == ["visit"]


def test_a_segment_export_needs_customer_records(client_for, api_client_for):
    _events()
    url, params = REPORTS["trends"]
    assert client_for(Role.PM).get(url, {**params, "segment": "1"}).status_code == 403
    refused = api_client_for(Role.PM).get("/api/v1/analytics/exports/download/", {
        "kind": "trends", **params, "segment": "1"})
    assert refused.status_code == 403


def test_the_pages_link_both_files(client_for):
    _events()
    html = client_for(Role.ANALYST).get("/analytics/trends/", REPORTS["trends"][1]).content.decode()
    assert "/analytics/trends/export/?" in html and "file_format=xlsx" in html


# Typed files: the selectors' ISO days are date cells; booleans are Yes / No in the reader's language

UP_TO_TODAY = {"date_from": "2026-11-20", "date_to": "2026-11-25"}  # the pinned "now" is 2026-11-25: today is not over


def _sheet_rows(response) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows(min_row=2)]


@pytest.mark.parametrize("language, yes, no", [("en", "Yes", "No"), ("zh-hans", "是", "否"), ("zh-hant", "是", "否")])
def test_trends_files_have_date_cells_and_yes_or_no_in_the_readers_language(client_for, language, yes, no):
    _events()
    client = client_for(Role.ANALYST)
    params = {"event": "visit", "measure": "total", "interval": "day", **UP_TO_TODAY}

    as_xlsx = client.get("/analytics/trends/export/", {**params, "file_format": "xlsx"},
                         HTTP_ACCEPT_LANGUAGE=language)
    as_csv = client.get("/analytics/trends/export/", params, HTTP_ACCEPT_LANGUAGE=language)

    # label, breakdown value, previous period, period, value, complete, cut by the range
    rows = _sheet_rows(as_xlsx)
    assert [row[3] for row in rows] == [(datetime(2026, 11, day), "d") for day in range(20, 26)]
    assert [(row[2][0], row[5][0], row[6][0]) for row in rows] == [(no, yes, no)] * 5 + [(no, no, no)]
    lines = _csv(as_csv)
    assert [(row[3], row[4], row[5], row[6]) for row in lines[1:3]] == [
        ("2026-11-20", "2", yes, no), ("2026-11-21", "0", yes, no)]
    assert (lines[-1][3], lines[-1][5]) == ("2026-11-25", no)


def test_a_week_cut_by_the_range_says_so_in_words(client_for):
    _events()
    rows = _csv(client_for(Role.ANALYST).get("/analytics/trends/export/", {
        "event": "visit", "measure": "total", "interval": "week", **RANGE}))

    assert [(row[3], row[5], row[6]) for row in rows[1:]] == [("2026-11-16", "Yes", "Yes")]


@pytest.mark.parametrize("language, yes, no", [("en", "Yes", "No"), ("zh-hans", "是", "否"), ("zh-hant", "是", "否")])
def test_stickiness_files_have_date_cells_and_yes_or_no_in_the_readers_language(client_for, language, yes, no):
    _events()
    client = client_for(Role.ANALYST)
    params = {"event": "visit", **UP_TO_TODAY}

    as_xlsx = client.get("/analytics/stickiness/export/", {**params, "file_format": "xlsx"},
                         HTTP_ACCEPT_LANGUAGE=language)
    as_csv = client.get("/analytics/stickiness/export/", params, HTTP_ACCEPT_LANGUAGE=language)

    # day, DAU, WAU, MAU, DAU/MAU, complete
    rows = _sheet_rows(as_xlsx)
    assert [row[0] for row in rows] == [(datetime(2026, 11, day), "d") for day in range(20, 26)]
    assert [row[5] for row in rows] == [(yes, "s")] * 5 + [(no, "s")]
    lines = _csv(as_csv)
    days = [row for row in lines[1:] if row[1].startswith("2026-")]  # the first table's rows (several tables)
    assert [(row[1], row[6]) for row in days][-2:] == [("2026-11-24", yes), ("2026-11-25", no)]  # table, day, …


def test_a_retention_workbook_has_date_cells_for_its_cohorts_and_text_for_the_average(client_for):
    _events()
    url, params = REPORTS["retention"]

    rows = _sheet_rows(client_for(Role.ANALYST).get(url, {**params, "file_format": "xlsx"}))

    assert [row[0] for row in rows] == [(datetime(2026, 11, 20), "d"), ("Average (complete periods)", "s")]


@pytest.mark.parametrize("kind, params", [
    ("funnel", {**REPORTS["funnel"][1], "window_days": "7", "closed_only": "on"}),
    ("trends", {**REPORTS["trends"][1], "date_to": "2026-11-30"}),
    ("stickiness", {**REPORTS["stickiness"][1], "date_to": "2026-11-30"}),
    ("retention", {**REPORTS["retention"][1], "periods": "8"}),
])
def test_a_job_run_late_writes_the_file_its_requester_would_have_downloaded(api_client_for, settings, tmp_path,
                                                                             today_is, kind, params):
    """Asked in Chinese on Wednesday 25 November, run (a queue, a retry) two weeks later: the windows have closed and
    the days after the 25th have happened since, yet the file is the download they would have had then, in Chinese
    — not the site's English, nor judged at the moment a worker got to it."""
    import time_machine

    from analytics.services.exports import export_job_execute

    settings.MEDIA_ROOT = tmp_path
    _events()
    client = api_client_for(Role.ANALYST)
    with time_machine.travel(timezone.now(), tick=False):  # the same instant for the download and the request
        download = client.get("/api/v1/analytics/exports/download/", {"kind": kind, "file_format": "csv", **params},
                              HTTP_ACCEPT_LANGUAGE="zh-hans")
        requested = client.post("/api/v1/analytics/exports/", {"kind": kind, "file_format": "csv", "params": params},
                                format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert download.status_code == 200 and requested.status_code == 202, requested.json()
    assert requested.json()["language"] == "zh-hans"
    today_is(date(2026, 12, 9))

    job = export_job_execute(job_id=requested.json()["id"])

    expected = b"".join(download.streaming_content).decode("utf-8")
    assert job.file.open("rb").read().decode("utf-8") == expected
    # Not a file that time does not touch: downloaded now, the same report says something else.
    later = client.get("/api/v1/analytics/exports/download/", {"kind": kind, "file_format": "csv", **params},
                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert b"".join(later.streaming_content).decode("utf-8") != expected
