"""Progress numbers against crafted data, one metric at a time, and the pace rules at their edges."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import AarrrDaily
from goals.metrics import CATALOGUE, goal_series, goal_values
from goals.models import Goal, GoalProgress, Metric
from goals.services.progress import (
    AHEAD,
    BEHIND,
    ON_TRACK,
    PACE_AHEAD,
    PACE_ON_TRACK,
    goal_expected,
    goal_progress_record,
    goal_summaries,
    pace_of,
)
from goals.tasks import goal_progress_task
from merchants.models import MerchantMetrics, Tier
from products.models import Ticket
from tests.factories import MerchantFactory, TicketFactory, local_time
from tests.goals.conftest import make_goal
from users.models import Segment, SegmentSize

pytestmark = pytest.mark.django_db


def _aarrr(day: date, channel: str, **values) -> None:
    AarrrDaily.objects.create(date=day, channel=channel, **values)


def test_every_metric_has_a_catalogue_entry():
    assert set(CATALOGUE) == set(Metric)


def test_aarrr_sums_from_the_period_start_to_the_day_all_channels_or_one():
    _aarrr(date(2026, 10, 31), "wechat", revenue=Decimal("999"), acquisition=50)  # before the period
    _aarrr(date(2026, 11, 1), "wechat", revenue=Decimal("100.50"), acquisition=10)
    _aarrr(date(2026, 11, 1), "douyin", revenue=Decimal("40"), acquisition=7)
    _aarrr(date(2026, 11, 5), "wechat", revenue=Decimal("60"), acquisition=3)
    _aarrr(date(2026, 11, 20), "wechat", revenue=Decimal("500"), acquisition=30)  # after the day asked
    revenue = make_goal(metric=Metric.REVENUE, target=1000)
    wechat = make_goal(metric=Metric.ACQUISITION, target=100, channel="wechat")

    values = goal_values(goals=[revenue, wechat], on=date(2026, 11, 10))

    assert values == {revenue.pk: 200.5, wechat.pk: 13.0}


def test_aarrr_series_is_cumulative_per_day():
    _aarrr(date(2026, 11, 2), "wechat", activation=4)
    _aarrr(date(2026, 11, 3), "douyin", activation=1)
    goal = make_goal(metric=Metric.ACTIVATION, target=30)

    series = goal_series(goals=[goal], date_to=date(2026, 11, 4))[goal.pk]

    assert series == [(date(2026, 11, 1), 0.0), (date(2026, 11, 2), 4.0), (date(2026, 11, 3), 5.0),
                      (date(2026, 11, 4), 5.0)]


def test_merchants_signed_and_live_count_the_period_and_a_personal_goal_counts_the_owners(team_setup):
    member, lead = team_setup["member"], team_setup["lead"]
    MerchantFactory(owner=member, signed_at=local_time(date(2026, 11, 3)), live_at=local_time(date(2026, 11, 9)))
    MerchantFactory(owner=member, signed_at=local_time(date(2026, 11, 30), 23, 30))  # last evening counts
    MerchantFactory(owner=lead, signed_at=local_time(date(2026, 11, 4)), live_at=local_time(date(2026, 12, 1), 0, 5))
    MerchantFactory(owner=lead, signed_at=local_time(date(2026, 10, 31), 23, 59))  # October
    signed = make_goal(metric=Metric.MERCHANTS_SIGNED, target=10)
    live = make_goal(metric=Metric.MERCHANTS_LIVE, target=5)
    mine = make_goal(metric=Metric.MERCHANTS_SIGNED, target=4, level=Goal.Level.PERSONAL, owner=member,
                     team=team_setup["team"])

    values = goal_values(goals=[signed, live, mine], on=date(2026, 12, 15))

    assert values == {signed.pk: 3.0, live.pk: 1.0, mine.pk: 2.0}


def test_core_merchants_are_a_level_from_the_latest_computed_week(team_setup):
    member = team_setup["member"]
    merchants = [MerchantFactory(owner=member if n < 2 else None) for n in range(4)]
    now = local_time(date(2026, 11, 20))
    for week, core in ((date(2026, 10, 26), 1), (date(2026, 11, 9), 3), (date(2026, 11, 16), 4)):
        for n, merchant in enumerate(merchants):
            MerchantMetrics.objects.create(merchant=merchant, period_start=week, computed_at=now,
                                           tier=Tier.CORE if n < core else Tier.ORDINARY)
    goal = make_goal(metric=Metric.MERCHANTS_CORE, target=6, baseline=Decimal("1"))
    personal = make_goal(metric=Metric.MERCHANTS_CORE, target=3, baseline=Decimal("1"), level=Goal.Level.PERSONAL,
                         owner=member, team=team_setup["team"])

    assert goal_values(goals=[goal, personal], on=date(2026, 11, 8)) == {goal.pk: 1.0, personal.pk: 1.0}
    assert goal_values(goals=[goal, personal], on=date(2026, 11, 12)) == {goal.pk: 3.0, personal.pk: 2.0}
    assert goal_values(goals=[goal], on=date(2026, 11, 25)) == {goal.pk: 4.0}


def test_segment_size_carries_the_last_rebuild_forward():
    segment = Segment.objects.create(name="Lapsed", rules={})
    other = Segment.objects.create(name="Other", rules={})
    SegmentSize.objects.create(segment=segment, date=date(2026, 10, 20), size=80, build_seconds=1)
    SegmentSize.objects.create(segment=other, date=date(2026, 10, 30), size=5, build_seconds=1)
    SegmentSize.objects.create(segment=segment, date=date(2026, 11, 6), size=120, build_seconds=1)
    goal = make_goal(metric=Metric.SEGMENT_SIZE, target=200, baseline=Decimal("80"), segment=segment)

    series = dict(goal_series(goals=[goal], date_to=date(2026, 11, 8))[goal.pk])

    assert series[date(2026, 11, 1)] == 80.0
    assert series[date(2026, 11, 5)] == 80.0
    assert series[date(2026, 11, 8)] == 120.0


def test_coupon_roi_pools_the_campaigns_of_the_period(monkeypatch):
    results = {1: {"incremental_revenue": 300.0, "cost": 100.0}, 2: {"incremental_revenue": 50.0, "cost": 100.0},
               3: {"incremental_revenue": None, "cost": 40.0}}  # no holdout: left out
    monkeypatch.setattr("users.selectors.coupon_campaign_results", lambda *, campaign_id: results[campaign_id])
    monkeypatch.setattr("users.selectors.CouponCampaign.objects",
                        type("M", (), {"filter": lambda self, **kw: type("Q", (), {
                            "order_by": lambda s, *a: type("V", (), {
                                "values_list": lambda v, *a, **k: [1, 2, 3]})()})()})())
    goal = make_goal(metric=Metric.COUPON_ROI, target=1.5, baseline=Decimal("0"))

    assert goal_values(goals=[goal], on=date(2026, 11, 10)) == {goal.pk: 0.75}  # (350 - 200) / 200


def test_tickets_concluded_with_success_in_the_period():
    TicketFactory(status=Ticket.Status.CONCLUDED, outcome=Ticket.Outcome.SUCCESS,
                  concluded_at=local_time(date(2026, 11, 2)))
    TicketFactory(status=Ticket.Status.CONCLUDED, outcome=Ticket.Outcome.SUCCESS,
                  concluded_at=local_time(date(2026, 11, 12)))
    TicketFactory(status=Ticket.Status.CONCLUDED, outcome=Ticket.Outcome.FAILURE,
                  concluded_at=local_time(date(2026, 11, 3)))
    TicketFactory(status=Ticket.Status.CONCLUDED, outcome=Ticket.Outcome.SUCCESS,
                  concluded_at=local_time(date(2026, 10, 30)))
    goal = make_goal(metric=Metric.TICKETS_SUCCESS, target=4)

    assert goal_values(goals=[goal], on=date(2026, 11, 30)) == {goal.pk: 2.0}


# Pace


@pytest.mark.parametrize(("value", "pace"), [
    (105.0, AHEAD), (104.99, ON_TRACK), (95.0, ON_TRACK), (94.99, BEHIND), (0.0, BEHIND), (300.0, AHEAD)])
def test_pace_edges_of_a_sum(value, pace):
    assert PACE_AHEAD == 1.05 and PACE_ON_TRACK == 0.95
    assert pace_of(value=value, expected=100.0) == pace


@pytest.mark.parametrize(("value", "pace"), [(152.5, AHEAD), (152.49, ON_TRACK), (147.5, ON_TRACK),
                                             (147.49, BEHIND), (100.0, BEHIND)])
def test_pace_of_a_level_compares_the_change_from_the_baseline(value, pace):
    assert pace_of(value=value, expected=150.0, start=100.0) == pace


def test_pace_of_a_falling_level_target():
    assert pace_of(value=80.0, expected=90.0, start=100.0) == AHEAD
    assert pace_of(value=95.0, expected=90.0, start=100.0) == BEHIND


def test_nothing_expected_yet_is_on_track_unless_already_moved():
    assert pace_of(value=0.0, expected=0.0) == ON_TRACK
    assert pace_of(value=1.0, expected=0.0) == AHEAD


def test_expected_is_the_target_times_the_elapsed_share_and_interpolates_levels():
    goal = make_goal(metric=Metric.REVENUE, target=3000)  # November: 30 days
    level = make_goal(metric=Metric.SEGMENT_SIZE, target=200, baseline=Decimal("80"),
                      segment=Segment.objects.create(name="S", rules={}))

    assert goal_expected(goal=goal, on=date(2026, 11, 10)) == pytest.approx(1000.0)
    assert goal_expected(goal=goal, on=date(2026, 10, 31)) == 0.0
    assert goal_expected(goal=goal, on=date(2026, 12, 5)) == 3000.0
    assert goal_expected(goal=level, on=date(2026, 11, 15)) == pytest.approx(140.0)


def test_summary_has_the_contract_keys_and_the_pace():
    for day in range(1, 11):
        _aarrr(date(2026, 11, day), "wechat", revenue=Decimal("100"))
    goal = make_goal(metric=Metric.REVENUE, target=3000)

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 10))[0]

    assert {"id", "title", "level", "metric", "metric_label", "period_start", "period_end", "target", "value",
            "progress", "expected", "pace", "url"} <= set(summary)
    assert (summary["value"], summary["expected"], summary["pace"]) == (1000.0, pytest.approx(1000.0), ON_TRACK)
    assert summary["progress"] == pytest.approx(1 / 3)
    assert summary["url"] == f"/goals/{goal.pk}/"


# The nightly record


def test_record_upserts_so_a_rerun_leaves_the_same_rows():
    _aarrr(date(2026, 11, 1), "wechat", revenue=Decimal("100"))
    _aarrr(date(2026, 11, 2), "wechat", revenue=Decimal("50"))
    goal = make_goal(metric=Metric.REVENUE, target=3000)
    make_goal(metric=Metric.REVENUE, target=3000, start=date(2026, 12, 1))  # not yet begun: not recorded

    assert goal_progress_record(on=date(2026, 11, 2), backfill=True) == 2
    AarrrDaily.objects.filter(date=date(2026, 11, 2)).update(revenue=Decimal("70"))  # a late correction
    assert goal_progress_record(on=date(2026, 11, 2)) == 1

    rows = list(GoalProgress.objects.order_by("date").values_list("goal_id", "date", "value", "expected"))
    assert rows == [(goal.pk, date(2026, 11, 1), 100.0, 100.0), (goal.pk, date(2026, 11, 2), 170.0, 200.0)]


def test_record_uses_one_query_per_metric_family(django_assert_num_queries, team_setup):
    for n in range(6):
        make_goal(metric=Metric.REVENUE if n % 2 else Metric.ACQUISITION, target=100 + n)
        make_goal(metric=Metric.TICKETS_SUCCESS, target=5 + n)
    # goals, AARRR rows, tickets per day, then the upsert in one statement (inside a savepoint in a test)
    with django_assert_num_queries(6):
        assert goal_progress_record(on=date(2026, 11, 10), backfill=True) == 12 * 10


def test_the_command_records_a_day_and_a_rerun_stores_nothing_new():
    make_goal(metric=Metric.REVENUE, target=100)
    call_command("record_goal_progress", "--date", "2026-11-05")
    call_command("record_goal_progress", "--date", "2026-11-05")
    assert list(GoalProgress.objects.values_list("date", flat=True)) == [date(2026, 11, 5)]


def test_the_nightly_task_records_yesterday(celery_eager):
    goal = make_goal(metric=Metric.REVENUE, target=100, start=timezone.localdate().replace(day=1) - timedelta(days=40))
    goal.period_end = timezone.localdate() + timedelta(days=5)
    goal.save()
    goal_progress_task.delay()
    assert list(GoalProgress.objects.values_list("date", flat=True)) == [timezone.localdate() - timedelta(days=1)]


# Measured through the last complete day (the nightly rows stop at yesterday)


def test_a_goal_exactly_on_pace_through_yesterday_is_on_track_today():
    goal = make_goal(metric=Metric.ACQUISITION, target=300)  # November: 10 a day is an even pace
    for day in range(1, 10):  # the nightly rows for 1–9 November
        AarrrDaily.objects.create(date=date(2026, 11, day), channel="wechat", acquisition=10)

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 9))[0]

    assert (summary["value"], summary["expected"], summary["pace"]) == (90, 90, "on_track")


def test_today_is_measured_through_yesterday(today_is):
    today_is(date(2026, 11, 10))
    goal = make_goal(metric=Metric.ACQUISITION, target=300)
    for day in range(1, 10):
        AarrrDaily.objects.create(date=date(2026, 11, day), channel="wechat", acquisition=10)

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 10))[0]

    assert (summary["as_of"], summary["value"], summary["expected"], summary["pace"]) == (
        date(2026, 11, 9), 90, 90, "on_track")


def test_on_the_first_day_of_the_period_nothing_is_behind_yet(today_is):
    today_is(date(2026, 11, 1))
    revenue = make_goal(metric=Metric.REVENUE, target=3000)
    core = make_goal(metric=Metric.MERCHANTS_CORE, target=30, baseline=Decimal("20"))

    summaries = goal_summaries(goals=[revenue, core], on=date(2026, 11, 1))

    assert [(s["value"], s["expected"], s["pace"]) for s in summaries] == [(0, 0, "on_track"), (20, 20, "on_track")]


def test_a_past_coupon_roi_goal_measures_the_same_alone_or_with_a_current_one(monkeypatch):
    from goals import metrics

    monkeypatch.setattr(metrics.user_selectors, "coupon_roi", lambda **kwargs: 1.5)
    october = make_goal(metric=Metric.COUPON_ROI, target=2, baseline=Decimal("0.5"), start=date(2026, 10, 1),
                        title="October ROI")
    november = make_goal(metric=Metric.COUPON_ROI, target=2, baseline=Decimal("0.5"), title="November ROI")
    on = date(2026, 11, 10)

    alone = goal_summaries(goals=[october], on=on)[0]["value"]
    together = goal_summaries(goals=[october, november], on=on)[0]["value"]

    assert alone == together == 1.5


def test_coupon_roi_is_computed_once_then_read_from_the_cache(monkeypatch):
    from goals import metrics

    calls = []
    monkeypatch.setattr(metrics.user_selectors, "coupon_roi", lambda **kwargs: calls.append(kwargs) or 1.25)
    goal = make_goal(metric=Metric.COUPON_ROI, target=2, baseline=Decimal("0.5"))

    first = goal_summaries(goals=[goal], on=date(2026, 11, 10))[0]["value"]
    again = goal_summaries(goals=[goal], on=date(2026, 11, 10))[0]["value"]

    assert (first, again, len(calls)) == (1.25, 1.25, 1)
