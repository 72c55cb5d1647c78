"""Progress numbers against crafted data, one metric at a time, and the pace rules at their edges."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

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


def test_core_merchants_are_a_level_from_the_latest_complete_week(team_setup):
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
    # the week of 9 November counts once its Sunday (15 November) is over, never while in progress
    assert goal_values(goals=[goal, personal], on=date(2026, 11, 14)) == {goal.pk: 1.0, personal.pk: 1.0}
    assert goal_values(goals=[goal, personal], on=date(2026, 11, 15)) == {goal.pk: 3.0, personal.pk: 2.0}
    assert goal_values(goals=[goal], on=date(2026, 11, 21)) == {goal.pk: 3.0}
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


# A count is judged in whole units: behind only when at least one whole unit short of expected


def _brute_force_pace(*, value, expected, start=0, whole_units: bool) -> str:
    """The pace from its definition, in exact fractions: the 105 % / 95 % rule on the change from the start, and for
    a count "behind" only if some whole number of units more than the value (1, 2, …) still lies within the even
    path — a count one unit higher that the team could have reached by now."""
    value, expected, start = Fraction(str(value)), Fraction(str(expected)), Fraction(str(start))
    wanted, made = expected - start, value - start
    if wanted == 0:
        return AHEAD if made > 0 else ON_TRACK
    ratio = made / wanted
    if ratio >= Fraction(105, 100):
        return AHEAD
    if ratio >= Fraction(95, 100):
        return ON_TRACK
    if whole_units:
        rising = wanted > 0
        reachable = any((value + k <= expected) if rising else (value - k >= expected) for k in range(1, 50))
        if not reachable:
            return ON_TRACK
    return BEHIND


@pytest.mark.parametrize(("value", "expected", "start", "whole_units", "pace"), [
    (0, 0.99, 0, True, ON_TRACK),  # less than one merchant expected: nothing could have been done yet
    (0, 1.0, 0, True, BEHIND),  # a tie at exactly one whole unit short is behind
    (0, 1.01, 0, True, BEHIND),
    (0, 0.0645, 0, True, ON_TRACK),  # the demo's "Merchants gone live 0 / 1" on 2 December
    (1, 1.0, 0, True, ON_TRACK),  # value = expected
    (2, 2.99, 0, True, ON_TRACK),
    (2, 3.0, 0, True, BEHIND),
    (22, 22.99, 22, True, ON_TRACK),  # a level counted in merchants, from its baseline
    (22, 23.0, 22, True, BEHIND),
    (20, 19.01, 20, True, ON_TRACK),  # a falling count (a segment to shrink), in its direction
    (20, 19.0, 20, True, BEHIND),
    (0, 0.99, 0, False, BEHIND),  # money and rates keep the 95 % rule
    (0, 0.0645, 0, False, BEHIND),
])
def test_a_count_is_behind_only_a_whole_unit_short(value, expected, start, whole_units, pace):
    assert pace_of(value=value, expected=expected, start=start, whole_units=whole_units) == pace
    assert _brute_force_pace(value=value, expected=expected, start=start, whole_units=whole_units) == pace


def test_pace_matches_the_brute_force_reference_over_a_grid():
    """Every value 0…6 against every expected 0.00…6.00 in hundredths, rising from 0 and from a baseline of 3,
    falling from 6, in whole units and not: the function and the definition agree, ties included."""
    mismatches = []
    for start, values in ((0, range(0, 7)), (3, range(0, 7)), (6, range(0, 7))):
        for hundredths in range(0, 601):
            expected = round(hundredths / 100, 4)  # what goal_summaries hands pace_of: 4 decimals
            for value in values:
                for whole_units in (True, False):
                    got = pace_of(value=float(value), expected=expected, start=float(start), whole_units=whole_units)
                    want = _brute_force_pace(value=value, expected=expected, start=start, whole_units=whole_units)
                    if got != want:
                        mismatches.append((start, value, expected, whole_units, got, want))
    assert mismatches == []


def test_a_small_count_goal_is_on_track_until_one_whole_unit_is_expected(today_is):
    """December, a goal of 1 merchant gone live and a goal of 31 merchants signed with 1 signed on the 1st, against
    the reference pace at each measured day: 0 of 1 stays on track until the path reaches 1 (31 December); 1 of 31 is
    on track on the 1st (1 expected), behind from the 2nd (2 expected: one whole merchant short). A revenue goal of
    1 (money) keeps the 95 % rule: behind from the 2nd."""
    live = make_goal(metric=Metric.MERCHANTS_LIVE, target=1, start=date(2026, 12, 1), title="Live")
    signed = make_goal(metric=Metric.MERCHANTS_SIGNED, target=31, start=date(2026, 12, 1), title="Signed")
    revenue = make_goal(metric=Metric.REVENUE, target=1, start=date(2026, 12, 1), title="Revenue")
    MerchantFactory(signed_at=local_time(date(2026, 12, 1), 9))
    seen = {}
    for offset in range(1, 32):
        today = today_is(date(2026, 12, 1) + timedelta(days=offset))  # 2 December … 1 January
        for summary in goal_summaries(goals=[live, signed, revenue], on=today):
            measured = summary["measured_on"]
            elapsed = Fraction((measured - date(2026, 12, 1)).days + 1, 31)
            expected = Fraction(int(summary["target"])) * elapsed
            want = _brute_force_pace(value=summary["value"], expected=round(float(expected), 4),
                                     whole_units=summary["unit"] == "count")
            assert (summary["title"], measured, summary["pace"]) == (summary["title"], measured, want)
            seen[(summary["title"], measured.day)] = summary["pace"]

    assert (seen[("Live", 2)], seen[("Live", 30)], seen[("Live", 31)]) == (ON_TRACK, ON_TRACK, BEHIND)
    assert (seen[("Signed", 1)], seen[("Signed", 2)]) == (ON_TRACK, BEHIND)
    assert (seen[("Revenue", 1)], seen[("Revenue", 2)]) == (BEHIND, BEHIND)


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

    assert [(s["value"], s["expected"], s["pace"], s["measured_on"]) for s in summaries] == [
        (0, 0, "pending", None), (20, 20, "pending", None)]


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


# Issue 14: a level shows where it started and is judged only on complete measurements; rates are goals


def _core_week(merchants, week: date, core: int) -> None:
    for n, merchant in enumerate(merchants):
        MerchantMetrics.objects.create(merchant=merchant, period_start=week, computed_at=local_time(week),
                                       tier=Tier.CORE if n < core else Tier.ORDINARY)


def test_a_level_goal_whose_week_is_still_in_progress_is_not_behind(today_is):
    """The demo's "Core merchants 22 / 23 — 0 % — behind" on Tuesday 2 December: the week of 30 November is in
    progress (its tier row exists), the last complete week ended before the period: not judged yet, from 22."""
    today_is(date(2026, 12, 2))
    merchants = [MerchantFactory() for _ in range(3)]
    _core_week(merchants, date(2026, 11, 23), 2)
    _core_week(merchants, date(2026, 11, 30), 1)  # the week in progress: never moves the goal
    goal = make_goal(metric=Metric.MERCHANTS_CORE, target=3, baseline=Decimal("2"), start=date(2026, 12, 1))

    summary = goal_summaries(goals=[goal], on=date(2026, 12, 2))[0]

    assert (summary["value"], summary["start"], summary["target"], summary["progress"], summary["pace"],
            summary["measured_on"]) == (2.0, 2.0, 3.0, 0.0, "pending", None)


def test_a_level_is_judged_against_the_path_at_its_last_complete_week(today_is):
    """On 17 December the last complete week ended on Sunday 14 December: expected is the path at the 14th."""
    today_is(date(2026, 12, 17))
    merchants = [MerchantFactory() for _ in range(40)]
    _core_week(merchants, date(2026, 12, 8), 26)
    _core_week(merchants, date(2026, 12, 15), 40)  # in progress
    goal = make_goal(metric=Metric.MERCHANTS_CORE, target=30, baseline=Decimal("20"), start=date(2026, 12, 1))

    summary = goal_summaries(goals=[goal], on=date(2026, 12, 17))[0]

    expected = 20 + (30 - 20) * 14 / 31  # brute force: the even path at the end of 14 December
    assert summary["measured_on"] == date(2026, 12, 14)
    assert summary["value"] == 26.0
    assert summary["expected"] == pytest.approx(expected, abs=1e-4)
    assert summary["pace"] == ("ahead" if (26 - 20) / (expected - 20) >= PACE_AHEAD else "on_track")


def _rate_reference(rows: list[tuple[date, str, int, int]], *, through: date, channel: str | None) -> float | None:
    num = sum(a for day, c, a, _ in rows if day <= through and (channel is None or c == channel))
    den = sum(b for day, c, _, b in rows if day <= through and (channel is None or c == channel))
    return 100.0 * num / den if den else None


@pytest.mark.parametrize("channel", [None, "wechat"])
def test_activation_rate_is_the_ratio_of_sums_over_complete_days_against_a_brute_force_reference(today_is, channel):
    today_is(date(2026, 11, 12))
    rows = [(date(2026, 10, 31), "wechat", 50, 60)]  # before the period: not counted
    rows += [(date(2026, 11, d), c, (d * 7 + len(c)) % 9, (d * 5 + len(c)) % 13 + 1)
             for d in range(1, 13) for c in ("wechat", "douyin")]
    rows.append((date(2026, 11, 3), "baidu", 4, 0))  # sign-ups with no acquisition on the day
    for day, c, signups, new in rows:
        _aarrr(day, c, activation=signups, acquisition=new)
    goal = make_goal(metric=Metric.ACTIVATION_RATE, target=60, baseline=Decimal("40"), channel=channel or "")

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 12))[0]
    series = dict(goal_series(goals=[goal], date_to=date(2026, 11, 11))[goal.pk])

    in_period = [row for row in rows if row[0] >= date(2026, 11, 1)]
    assert summary["kind"] == "rate" and summary["unit"] == "percent"
    assert summary["measured_on"] == date(2026, 11, 11)  # today (the 12th) is not complete
    assert summary["value"] == pytest.approx(_rate_reference(in_period, through=date(2026, 11, 11),
                                                             channel=channel), abs=1e-3)
    for day, value in series.items():
        assert value == pytest.approx(_rate_reference(in_period, through=day, channel=channel), abs=1e-3)
    expected = 40 + 20 * 11 / 30
    assert summary["expected"] == pytest.approx(expected, abs=1e-4)
    ratio = (summary["value"] - 40) / (expected - 40)
    assert summary["pace"] == ("ahead" if ratio >= PACE_AHEAD else "on_track" if ratio >= PACE_ON_TRACK
                               else "behind")


def test_a_rate_with_an_empty_denominator_is_not_judged(today_is):
    today_is(date(2026, 11, 5))
    _aarrr(date(2026, 11, 2), "wechat", retention=3, paying_customers=0)
    goal = make_goal(metric=Metric.REPEAT_RATE, target=30, baseline=Decimal("20"))

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 5))[0]

    assert (summary["value"], summary["pace"], summary["measured_on"]) == (20.0, "pending", None)


def test_repeat_rate_falling_target_is_judged_in_its_direction(today_is):
    today_is(date(2026, 11, 16))
    for d in range(1, 16):
        _aarrr(date(2026, 11, d), "wechat", retention=2, paying_customers=10)  # 20 %
    goal = make_goal(metric=Metric.REPEAT_RATE, target=10, baseline=Decimal("30"))

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 16))[0]

    assert summary["value"] == 20.0
    assert summary["expected"] == pytest.approx(30 - 20 * 15 / 30)  # 20: exactly on the path
    assert summary["pace"] == ON_TRACK


def test_coupon_roi_is_a_rate_over_the_complete_days(monkeypatch, today_is):
    from goals import metrics

    today_is(date(2026, 11, 10))
    calls = []
    monkeypatch.setattr(metrics.user_selectors, "coupon_roi", lambda **kwargs: calls.append(kwargs) or 0.9)
    goal = make_goal(metric=Metric.COUPON_ROI, target=1.5, baseline=Decimal("0.5"), title="ROI rate")

    summary = goal_summaries(goals=[goal], on=date(2026, 11, 10))[0]

    assert calls[0]["date_to"] == date(2026, 11, 9)
    assert (summary["kind"], summary["measured_on"], summary["value"]) == ("rate", date(2026, 11, 9), 0.9)
    assert summary["expected"] == pytest.approx(0.5 + 1.0 * 9 / 30, abs=1e-4)


@pytest.mark.parametrize(("fields", "field"), [
    ({"metric": Metric.ACTIVATION_RATE, "target": Decimal("120"), "baseline": Decimal("30")}, "target"),
    ({"metric": Metric.REPEAT_RATE, "target": Decimal("40"), "baseline": Decimal("-1")}, "baseline"),
    ({"metric": Metric.REPEAT_RATE, "target": Decimal("40"), "baseline": None}, "baseline"),
    ({"metric": Metric.ACTIVATION_RATE, "target": Decimal("40"), "baseline": Decimal("40")}, "target"),
])
def test_rate_goals_validate_percentages_and_baselines(fields, field):
    from django.core.exceptions import ValidationError

    goal = Goal(title="Rate", level=Goal.Level.COMPANY, period_kind="month", period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30), **fields)

    with pytest.raises(ValidationError) as error:
        goal.full_clean()
    assert field in error.value.message_dict
