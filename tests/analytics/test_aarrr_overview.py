"""The AARRR overview and exports pages (server-rendered; the browser journeys are in tests/e2e/)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from analytics.models import AarrrDaily, ExportJob, MetricsRun
from ops_platform.core.roles import Role
from tests.factories import event_row, local_time

DAY = date(2026, 3, 10)


@pytest.fixture
def stored(db):
    AarrrDaily.objects.bulk_create([
        AarrrDaily(date=DAY, channel="wechat", acquisition=40, activation=10, retention=3, revenue=Decimal("900"),
                   paying_customers=6, referral=2),
        AarrrDaily(date=DAY + timedelta(days=1), channel="douyin", acquisition=60, activation=6, retention=0,
                   revenue=Decimal("100"), paying_customers=2),
        AarrrDaily(date=DAY - timedelta(days=2), channel="wechat", acquisition=50, activation=5),  # previous period
    ])


def test_overview_shows_stages_changes_and_the_channel_table(client_for, stored, django_assert_max_num_queries):
    client = client_for(Role.MERCHANT_OPS)

    with django_assert_max_num_queries(12):
        response = client.get("/analytics/aarrr/", {"date_from": "2026-03-10", "date_to": "2026-03-11"})

    assert response.status_code == 200
    stages = {stage["key"]: stage for stage in response.context["stages"]}
    assert stages["acquisition"]["value"] == 100
    assert stages["acquisition"]["previous"] == 50
    assert stages["acquisition"]["change"] == 1.0
    assert stages["revenue"]["change"] is None  # nothing to compare with
    channels = {row["channel"]: row for row in response.context["channels"]}
    assert list(channels) == ["douyin", "wechat"]  # most new customers first
    assert channels["wechat"]["activation_rate"] == 0.25
    assert channels["wechat"]["repeat_rate"] == 0.5
    assert channels["wechat"]["revenue_per_new_customer"] == 22.5
    assert response.context["chart"]["labels"] == ["2026-03-10", "2026-03-11"]
    content = response.content.decode()
    assert "▲ 100% vs the previous period" in content
    assert "Export in the background" not in content  # merchant ops may download, not start jobs
    assert "Recompute these days" not in content


def test_one_channel(client_for, stored):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-03-10",
                                                                 "date_to": "2026-03-11", "channel": "douyin"})

    assert {stage["key"]: stage["value"] for stage in response.context["stages"]}["acquisition"] == 60
    assert "Export in the background" in response.content.decode()


def test_bad_range_is_explained_on_the_page(client_for, stored):
    response = client_for(Role.PM).get("/analytics/aarrr/", {"date_from": "2026-03-12", "date_to": "2026-03-11"})

    assert response.status_code == 400
    assert "Pick a start on or before the end date." in response.content.decode()


def test_unknown_channel_is_refused(client_for, stored):
    response = client_for(Role.PM).get("/analytics/aarrr/", {"channel": "nowhere"})

    assert response.status_code == 400
    assert response.context["form"].errors["channel"]


@pytest.mark.usefixtures("celery_eager")
def test_analyst_recomputes_a_range(client_for, db, django_capture_on_commit_callbacks):
    from analytics.services.loading import events_load

    events_load([event_row("visit", "a", local_time(DAY, 9), channel="wechat")])
    client = client_for(Role.ANALYST)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/analytics/aarrr/recompute/", {"date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert response.status_code == 302
    assert MetricsRun.objects.get().status == "done"
    assert AarrrDaily.objects.get().acquisition == 1


def test_product_ops_may_not_recompute(client_for, db):
    response = client_for(Role.PRODUCT_OPS).post("/analytics/aarrr/recompute/",
                                                 {"date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert response.status_code == 403
    assert not MetricsRun.objects.exists()


def test_exports_page_lists_my_jobs_only(client_for, make_staff, db, django_assert_max_num_queries):
    other = make_staff(Role.ANALYST)
    client = client_for(Role.ANALYST)
    me = client.get("/analytics/exports/").wsgi_request.user
    ExportJob.objects.create(kind="aarrr", params={"date_from": "2026-03-01"}, created_by=me, rows_total=10,
                             rows_done=5, status="running")
    ExportJob.objects.create(kind="aarrr", params={}, created_by=other)

    with django_assert_max_num_queries(6):
        response = client.get("/analytics/exports/")

    assert [job.created_by for job in response.context["jobs"]] == [me]
    assert 'value="50"' in response.content.decode()


@pytest.mark.usefixtures("celery_eager")
def test_export_start_creates_a_job_and_goes_to_the_exports_page(client_for, stored, settings, tmp_path,
                                                                   django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(Role.ADMIN)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/analytics/exports/start/", {"kind": "aarrr", "file_format": "csv",
                                                             "date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.status_code == 302
    assert response["Location"] == "/analytics/exports/"
    job = ExportJob.objects.get()
    as_of = job.params.pop("as_of")  # the data as of the request (a retry exports the same)
    assert (job.status, job.rows_done, job.params) == ("done", 3, {"date_from": "2026-03-01",
                                                                    "date_to": "2026-03-31"})
    assert as_of.startswith("2026-11-25T")


# Partial periods on the chart: the clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py).

def test_today_is_so_far_and_days_to_come_have_no_value(client_for, db):
    AarrrDaily.objects.bulk_create([
        AarrrDaily(date=date(2026, 11, 24), channel="wechat", acquisition=40),
        AarrrDaily(date=date(2026, 11, 25), channel="wechat", acquisition=7),  # a recompute during the day
    ])

    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-11-23", "date_to": "2026-11-27"})

    chart = response.context["chart"]
    assert chart["interval"] == "day"
    assert chart["labels"] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
    acquisition = next(stage for stage in chart["stages"] if stage["key"] == "acquisition")
    assert acquisition["values"] == [0.0, 40.0, 7.0, None, None]  # not a fall to 0 after today
    assert chart["partial"] == [None, None, "so far", None, None]
    assert 'data-testid="chart-partial-note"' in response.content.decode()


def test_the_default_range_ends_yesterday_and_has_nothing_partial(client_for, db):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/")

    chart = response.context["chart"]
    assert chart["labels"][-1] == "2026-11-24" and not any(chart["partial"])
    assert 'data-testid="chart-partial-note"' not in response.content.decode()


def test_a_long_range_is_charted_per_week_with_this_week_so_far(client_for, db):
    AarrrDaily.objects.bulk_create([
        AarrrDaily(date=date(2026, 11, 16) + timedelta(days=i), channel="wechat", acquisition=1) for i in range(10)])

    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-08-01", "date_to": "2026-11-25"})

    chart = response.context["chart"]
    assert chart["interval"] == "week"
    assert chart["labels"][0] == "2026-07-27" and chart["labels"][-1] == "2026-11-23"  # Mondays
    acquisition = next(stage for stage in chart["stages"] if stage["key"] == "acquisition")
    assert acquisition["values"][-2:] == [7.0, 3.0]  # 16–22 Nov; 23–25 Nov so far
    assert chart["partial"][-1] == "so far"
    assert chart["partial"][0] == "only part of the week is in the range"  # 1–2 Aug of the week of 27 Jul
    assert not any(chart["partial"][1:-1])
    assert "This week is in progress" in response.content.decode()


def test_the_home_chart_marks_today_so_far(client_for):
    response = client_for(Role.ANALYST).get("/")

    chart = response.context["chart"]
    assert chart["labels"][-1] == "2026-11-25"
    assert chart["partial"] == [None] * 29 + ["so far"]


def test_a_dashboard_tile_of_the_aarrr_overview_marks_today_so_far():
    from insights.presenters import present

    shown = present(kind="aarrr", result={"stages": [], "series": [
        {"date": "2026-11-24", "acquisition": 3}, {"date": "2026-11-25", "acquisition": 1}]})

    assert shown["chart"]["partial"] == [None, "so far"]
