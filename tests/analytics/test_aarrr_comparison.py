"""The AARRR stages compare like with like: a range in progress sums only its measured days (up to yesterday, or the
last night the metrics run finished) and compares them with the same number of days of the previous range — against
a brute-force reference on random stored rows, runs, ranges and days of the week (ties, empty channels, a range not
started, a night not run yet)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import AarrrDaily, MetricsRun
from analytics.selectors import aarrr_comparison_window, aarrr_overview, aarrr_period_comparison
from ops_platform.core.roles import Role

pytestmark = pytest.mark.django_db
STAGES = ("acquisition", "activation", "retention", "revenue", "referral")
BASE = date(2026, 11, 1)


def _reference(rows, runs, date_from, date_to, today, channel):
    """Brute force: the days counted are those of the range that are over (before ``today``) and, when runs are
    recorded, covered by a finished run's last day; the previous days are those ``range`` days earlier."""
    measured = [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    measured = [day for day in measured if day < today]
    if runs:
        done = [to for to, ok in runs if ok]
        measured = [day for day in measured if done and day <= max(done)]
    length = (date_to - date_from).days + 1
    previous = [day - timedelta(days=length) for day in measured]

    def total(days, key):
        return sum(row[key] for row in rows if row["date"] in days and (channel is None or row["channel"] == channel))

    stages = {}
    for key in STAGES:
        now, before = total(set(measured), key), total(set(previous), key)
        stages[key] = (None, None, None) if not measured else (
            now, before, (float(now) - float(before)) / float(before) if before else None)
    return len(measured), length, stages


class _Rollback(Exception):
    pass


ROW = st.fixed_dictionaries({
    "date": st.integers(-20, 40).map(lambda n: BASE + timedelta(days=n)),
    "channel": st.sampled_from(["wechat", "douyin"]),
    **{key: st.integers(0, 3) for key in ("acquisition", "activation", "retention", "referral")},
    "revenue": st.sampled_from([Decimal("0"), Decimal("10.50"), Decimal("3")]),
})


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=25, unique_by=lambda row: (row["date"], row["channel"])),
       runs=st.lists(st.tuples(st.integers(-5, 40).map(lambda n: BASE + timedelta(days=n)), st.booleans()),
                     max_size=3),
       start=st.integers(-3, 30), length=st.sampled_from([1, 2, 7, 30, 31]), today=st.integers(-3, 45),
       channel=st.sampled_from([None, "wechat"]))
def test_the_stages_against_the_reference(rows, runs, start, length, today, channel):
    date_from = BASE + timedelta(days=start)
    date_to, today = date_from + timedelta(days=length - 1), BASE + timedelta(days=today)
    try:
        with transaction.atomic():
            AarrrDaily.objects.bulk_create([AarrrDaily(**row) for row in rows])
            MetricsRun.objects.bulk_create([
                MetricsRun(date_from=to - timedelta(days=3), date_to=to,
                           status=MetricsRun.Status.DONE if ok else MetricsRun.Status.FAILED) for to, ok in runs])
            window = aarrr_comparison_window(date_from=date_from, date_to=date_to, today=today)
            stages = aarrr_period_comparison(date_from=date_from, date_to=date_to, channel=channel, window=window)
            raise _Rollback
    except _Rollback:
        pass

    days, range_days, expected = _reference(rows, runs, date_from, date_to, today, channel)
    assert (window["days"], window["range_days"], window["complete"]) == (days, range_days, days == range_days)
    if days:
        assert window["date_to"] == date_from + timedelta(days=days - 1)
        assert window["previous_from"] == date_from - timedelta(days=length)
        assert window["previous_to"] == window["previous_from"] + timedelta(days=days - 1)
    else:
        assert window["date_to"] is window["previous_from"] is window["previous_to"] is None
    for stage in stages:
        value, previous, change = expected[stage["key"]]
        assert (stage["value"], stage["previous"]) == (value, previous)
        assert stage["change"] == pytest.approx(change) if change is not None else stage["change"] is None


# The clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py): this week is Monday 23 – Sunday 29.


@pytest.fixture
def weeks(db):
    """A steady 10 new customers a day from 9 November to yesterday (24 November); the night of the 24th has run."""
    AarrrDaily.objects.bulk_create([AarrrDaily(date=date(2026, 11, 9) + timedelta(days=i), channel="wechat",
                                               acquisition=10, revenue=Decimal("100")) for i in range(16)])
    MetricsRun.objects.create(date_from=date(2026, 11, 24), date_to=date(2026, 11, 24), status=MetricsRun.Status.DONE)


def test_a_week_in_progress_compares_monday_and_tuesday_with_monday_and_tuesday(client_for, weeks):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-11-23", "date_to": "2026-11-29"})

    stages = {stage["key"]: stage for stage in response.context["stages"]}
    assert (stages["acquisition"]["value"], stages["acquisition"]["previous"]) == (20, 20)  # not 20 against 70
    assert stages["acquisition"]["change"] == 0.0
    html = response.content.decode()
    assert "▲ 0% vs the same days before" in html and "▼" not in html
    assert ("So far: the stages cover 2026-11-23 – 2026-11-24, 2 of the 7 days of the range" in html
            and "the same 2 days of the previous period, 2026-11-16 – 2026-11-17" in html)


def test_before_the_night_has_run_yesterday_is_not_counted_as_a_zero(client_for, weeks):
    MetricsRun.objects.update(date_from=date(2026, 11, 23), date_to=date(2026, 11, 23))  # the 24th not stored yet
    AarrrDaily.objects.filter(date=date(2026, 11, 24)).delete()

    overview = client_for(Role.ANALYST).get("/api/v1/analytics/aarrr/overview/", {
        "date_from": "2026-11-23", "date_to": "2026-11-29"}).json()

    assert overview["comparison"] == {"date_from": "2026-11-23", "date_to": "2026-11-23", "days": 1, "range_days": 7,
                                      "complete": False, "previous_from": "2026-11-16", "previous_to": "2026-11-16"}
    assert [(s["key"], s["value"], s["previous"], s["change"]) for s in overview["stages"]][0] == (
        "acquisition", 10, 10, 0.0)
    assert [day["acquisition"] for day in overview["series"]] == [10, None, None, None, None, None, None]


def test_a_range_not_started_has_no_figures_and_says_so(client_for, weeks):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-11-25", "date_to": "2026-11-25"})

    assert all(stage["value"] is None and stage["change"] is None for stage in response.context["stages"])
    html = response.content.decode()
    assert "Nothing of this range is measured yet" in html and "no previous period to compare" not in html


def test_a_complete_range_reads_as_before(client_for, weeks):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-11-16", "date_to": "2026-11-22"})

    stages = {stage["key"]: stage for stage in response.context["stages"]}
    assert (stages["acquisition"]["value"], stages["acquisition"]["previous"]) == (70, 70)
    html = response.content.decode()
    assert "vs the previous period" in html and 'data-testid="stages-note"' not in html


@pytest.mark.parametrize(("language", "note"), [
    ("zh-hans", "目前为止"), ("zh-hant", "目前為止")])
def test_the_note_is_translated(client_for, weeks, language, note):
    response = client_for(Role.ANALYST).get("/analytics/aarrr/", {"date_from": "2026-11-23", "date_to": "2026-11-29"},
                                            HTTP_ACCEPT_LANGUAGE=language)

    assert note in response.content.decode()


def test_a_this_week_tile_says_what_it_compares(weeks):
    from insights.presenters import present

    result = aarrr_overview(date_from=date(2026, 11, 23), date_to=date(2026, 11, 29))
    shown = present(kind="aarrr", result=result)

    assert shown["number"]["sub"] == "so far: 2 of 7 days, against the same days before"
    assert [item["change_display"] for item in shown["number"]["items"]][0] == "0.0%"
    assert shown["chart"]["datasets"][0]["data"] == [10, 10, None, None, None, None, None]  # no drop to 0 today


def test_the_chart_has_no_point_for_a_day_not_computed_yet(client_for, weeks):
    """Today without a recompute and yesterday before the night's run are not days of nothing: no point (the
    dashed "so far" segment would fall to 0), while a recompute during the day still shows today so far."""
    MetricsRun.objects.update(date_to=date(2026, 11, 23))
    AarrrDaily.objects.filter(date=date(2026, 11, 24)).delete()
    client = client_for(Role.ANALYST)

    chart = client.get("/analytics/aarrr/", {"date_from": "2026-11-22", "date_to": "2026-11-26"}).context["chart"]

    acquisition = next(stage for stage in chart["stages"] if stage["key"] == "acquisition")
    assert acquisition["values"] == [10.0, 10.0, None, None, None]
    assert not any(chart["partial"])
    AarrrDaily.objects.create(date=date(2026, 11, 25), channel="wechat", acquisition=4)  # recomputed today
    chart = client.get("/analytics/aarrr/", {"date_from": "2026-11-22", "date_to": "2026-11-26"}).context["chart"]
    acquisition = next(stage for stage in chart["stages"] if stage["key"] == "acquisition")
    assert acquisition["values"] == [10.0, 10.0, None, 4.0, None] and chart["partial"][3] == "so far"
