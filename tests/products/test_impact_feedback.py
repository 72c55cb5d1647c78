"""Launch impact on crafted events (two-proportion z-test, Welch's t-test), launch markers, feedback intake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from scipy import stats

from analytics.services.loading import events_load
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from products.models import FeedbackItem, ImpactAnalysis, Ticket
from products.selectors import launches_in_range
from products.services.feedback import feedback_create, feedback_triage
from products.services.impact import impact_analysis_create, two_proportion_z_test, welch_t_test
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db


def _launched(people, *, metric, days_ago=5):
    launch_day = timezone.localdate() - timedelta(days=days_ago)
    ticket = Ticket.objects.create(title="Coupon pack", status="launched", target_metric=metric,
                                   requester=people["user_ops"], launched_at=local_time(launch_day, 10))
    return ticket, launch_day


def test_two_proportion_z_test_numbers():
    result = two_proportion_z_test(x1=2, n1=10, x2=6, n2=10)

    assert result["before"] == 0.2
    assert result["after"] == 0.6
    assert round(result["statistic"], 4) == 1.8257
    assert round(result["p_value"], 4) == 0.0679
    assert two_proportion_z_test(x1=0, n1=0, x2=1, n2=2)["p_value"] is None


def test_signup_rate_before_and_after_launch(people):
    ticket, day = _launched(people, metric="signup_rate")
    rows = []
    for i in range(10):  # before: 10 visitors, 2 sign up; after: 10 visitors, 6 sign up
        rows.append(event_row("visit", f"b{i}", local_time(day - timedelta(days=1 + i % 2), 9), channel="wechat"))
        if i < 2:
            rows.append(event_row("signup", f"b{i}", local_time(day - timedelta(days=1 + i % 2), 10)))
        rows.append(event_row("visit", f"a{i}", local_time(day + timedelta(days=i % 2), 9), channel="wechat"))
        if i < 6:
            rows.append(event_row("signup", f"a{i}", local_time(day + timedelta(days=i % 2), 10)))
    rows.append(event_row("signup", "late", local_time(day + timedelta(days=2), 10)))  # outside both windows
    events_load(rows)

    analysis = impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=2,
                                      conclusion="Clear lift.")

    assert (analysis.before_from, analysis.before_to) == (day - timedelta(days=2), day - timedelta(days=1))
    assert (analysis.after_from, analysis.after_to) == (day, day + timedelta(days=1))
    numbers = analysis.numbers
    assert numbers["samples"] == {"before": {"base": 10, "converted": 2}, "after": {"base": 10, "converted": 6}}
    assert (numbers["before"], numbers["after"], round(numbers["difference"], 4)) == (0.2, 0.6, 0.4)
    assert numbers["test"] == "two-proportion z-test"
    assert round(analysis.p_value, 4) == 0.0679
    assert numbers["significant"] is False
    assert len(numbers["series"]) == 4
    assert analysis.conclusion == "Clear lift."


def test_revenue_per_customer_uses_welch(people):
    ticket, day = _launched(people, metric="revenue_per_customer")
    before, after = {"p": 10, "q": 0, "r": 20}, {"s": 30, "t": 10, "u": 20}
    rows = []
    for offset, amounts in ((-1, before), (0, after)):
        for who, amount in amounts.items():
            rows.append(event_row("visit", who, local_time(day + timedelta(days=offset), 9)))
            if amount:
                rows.append(event_row("order_paid", who, local_time(day + timedelta(days=offset), 12),
                                      order_id=f"o-{who}", amount=amount, merchant_id="M1"))
    events_load(rows)

    analysis = impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=1)

    reference = stats.ttest_ind([30, 10, 20], [10, 0, 20], equal_var=False)
    assert analysis.numbers["test"] == "Welch's t-test"
    assert (analysis.numbers["before"], analysis.numbers["after"]) == (10.0, 20.0)
    assert round(analysis.numbers["statistic"], 6) == round(float(reference.statistic), 6)
    assert round(analysis.p_value, 6) == round(float(reference.pvalue), 6)


def test_welch_needs_two_per_side():
    assert welch_t_test(mean1=1, var1=1, n1=1, mean2=2, var2=1, n2=5)["p_value"] is None


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.PM])
def test_only_analysts_measure_impact(people, role):
    ticket, _ = _launched(people, metric="signup_rate")

    with pytest.raises(ApplicationError) as error:
        impact_analysis_create(ticket_id=ticket.pk, actor=people[role.value], window_days=2)

    assert error.value.status_code == 403
    assert ImpactAnalysis.objects.count() == 0


def test_impact_refuses_windows_that_are_not_over_or_out_of_bounds(people):
    ticket, _ = _launched(people, metric="signup_rate")

    with pytest.raises(ApplicationError) as error:
        impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=9)
    assert error.value.errors == {"window_days": [
        "The after window must end before today: choose at most 5 days, or measure 9 days from 2026-11-29."]}
    with pytest.raises(ApplicationError) as error:
        impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=0, metric="nps")
    assert set(error.value.errors) == {"metric", "window_days"}
    assert ImpactAnalysis.objects.count() == 0


def test_launch_markers_in_a_date_range(people):
    ticket, day = _launched(people, metric="signup_rate")
    Ticket.objects.create(title="old", status="launched", launched_at=local_time(day - timedelta(days=30)))

    markers = launches_in_range(date_from=day - timedelta(days=1), date_to=day)

    assert markers == [{"ticket_id": ticket.pk, "key": ticket.key, "title": "Coupon pack", "date": day,
                        "launched_at": ticket.launched_at}]


# Feedback intake


def test_many_feedback_items_become_one_ticket_with_a_count(people, ticket):
    items = [feedback_create(created_by=people["merchant_ops"], source="merchant", who=f"M0000{i}",
                             text="Coupons for new customers please") for i in range(3)]

    feedback_triage(actor=people["product_ops"], feedback_ids=[i.pk for i in items[:2]], ticket_id=ticket.pk)
    ticket = feedback_triage(actor=people["product_ops"], feedback_ids=[items[2].pk], ticket_id=ticket.pk)

    assert ticket.feedback_count == 3
    assert FeedbackItem.objects.filter(ticket=ticket).count() == 3


def test_moving_feedback_to_another_ticket_recounts_both(people, ticket):
    other = Ticket.objects.create(title="other", requester=people["pm"])
    item = feedback_create(created_by=people["user_ops"], source="customer", who="c1", text="dark mode")
    feedback_triage(actor=people["pm"], feedback_ids=[item.pk], ticket_id=ticket.pk)

    feedback_triage(actor=people["pm"], feedback_ids=[item.pk], ticket_id=other.pk)

    ticket.refresh_from_db()
    other.refresh_from_db()
    assert (ticket.feedback_count, other.feedback_count) == (0, 1)


def test_feedback_refuses_bad_input_and_roles(people, ticket):
    with pytest.raises(ApplicationError) as error:
        feedback_create(created_by=people["user_ops"], source="martian", who="", text="")
    assert set(error.value.errors) == {"source", "who", "text"}
    item = feedback_create(created_by=people["user_ops"], source="customer", who="c1", text="x")
    with pytest.raises(ApplicationError) as error:
        feedback_triage(actor=people["analyst"], feedback_ids=[item.pk], ticket_id=ticket.pk)
    assert error.value.status_code == 403
    with pytest.raises(ApplicationError) as error:
        feedback_triage(actor=people["pm"], feedback_ids=[item.pk, 999999], ticket_id=ticket.pk)
    assert error.value.errors == {"feedback_ids": ["Unknown: 999999"]}
    item.refresh_from_db()
    assert item.ticket_id is None


# Issue 14: one measure for the headline and the chart, equal windows, launch day


def _brute_force_customer_days(rows, *, base, goal, first, last, value=None):
    """Per local day: customers with ``base`` that day, and over them the goal events of the same day."""
    tz = timezone.get_current_timezone()
    days = {}
    for row in rows:
        day = row.timestamp.astimezone(tz).date()
        if first <= day <= last:
            days.setdefault(day, {}).setdefault(row.distinct_id, []).append(row)
    result = {}
    for day, people_rows in days.items():
        units = [events for events in people_rows.values() if any(e.event == base for e in events)]
        if not units:
            continue
        amounts = [sum(float(e.properties.get(value, 0)) if value else 1.0 for e in events if e.event == goal)
                   for events in units]
        result[day] = {"base": len(units), "amounts": amounts,
                       "converted": sum(1 for events in units if any(e.event == goal for e in events))}
    return result


def test_revenue_per_customer_headline_is_the_weighted_chart_against_a_brute_force_reference(people):
    """Customers visiting on several days, orders without a visit that day (left out), a day without visitors:
    each chart point is the day's amount per visiting customer, the headline the same over the window's
    customer-days, the test Welch's on those units."""
    ticket, day = _launched(people, metric="revenue_per_customer", days_ago=6)
    rows = []
    for offset in range(-3, 3):
        if offset == -2:
            continue  # a day without visitors: no value on the chart, nothing in the headline
        for n in range(4 + (offset + 3) % 3):
            who = f"c{n}"
            at = local_time(day + timedelta(days=offset), 9 + n)
            rows.append(event_row("visit", who, at))
            if (n + offset) % 2 == 0:
                rows.append(event_row("order_paid", who, at + timedelta(minutes=30), order_id=f"o{offset}{n}",
                                      amount=10 + 7 * n + offset, merchant_id="M1"))
        rows.append(event_row("order_paid", "ghost", local_time(day + timedelta(days=offset), 20),
                              order_id=f"g{offset}", amount=999, merchant_id="M1"))  # no visit: not a unit
    events_load(rows)

    analysis = impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=3)

    numbers = analysis.numbers
    reference = _brute_force_customer_days(rows, base="visit", goal="order_paid", value="amount",
                                           first=day - timedelta(days=3), last=day + timedelta(days=2))
    before = [a for d, r in reference.items() if d < day for a in r["amounts"]]
    after = [a for d, r in reference.items() if d >= day for a in r["amounts"]]
    assert numbers["before"] == pytest.approx(sum(before) / len(before))
    assert numbers["after"] == pytest.approx(sum(after) / len(after))
    assert (numbers["samples"]["before"]["n"], numbers["samples"]["after"]["n"]) == (len(before), len(after))
    welch = stats.ttest_ind(after, before, equal_var=False)
    assert numbers["p_value"] == pytest.approx(float(welch.pvalue))
    series = {point["date"]: point["value"] for point in numbers["series"]}
    for d in (day + timedelta(days=k) for k in range(-3, 3)):
        expected = (sum(reference[d]["amounts"]) / reference[d]["base"]) if d in reference else None
        assert series[d.isoformat()] == (pytest.approx(expected) if expected is not None else None)
    # the headline is the chart's days weighted by their customers: the same measure
    weighted = sum(series[d.isoformat()] * reference[d]["base"] for d in reference if d < day)
    assert numbers["before"] == pytest.approx(weighted / len(before))
    # equal windows
    assert (analysis.before_to - analysis.before_from) == (analysis.after_to - analysis.after_from)
    assert numbers["window_days"] == 3
    assert numbers["ci_low"] < numbers["difference"] < numbers["ci_high"]


def test_signup_rate_counts_the_same_day_and_gives_an_interval(people):
    ticket, day = _launched(people, metric="signup_rate")
    rows = [event_row("visit", "x", local_time(day - timedelta(days=1), 9)),
            event_row("signup", "x", local_time(day, 9)),  # the next day: not the same customer-day
            event_row("visit", "y", local_time(day, 9)), event_row("signup", "y", local_time(day, 10)),
            event_row("visit", "z", local_time(day, 9))]
    events_load(rows)

    numbers = impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=1).numbers

    assert numbers["samples"] == {"before": {"base": 1, "converted": 0}, "after": {"base": 2, "converted": 1}}
    assert (numbers["before"], numbers["after"], numbers["verdict"]) == (0.0, 0.5, "too_small")
    assert [point["value"] for point in numbers["series"]] == [0.0, 0.5]


def test_on_launch_day_the_refusal_says_from_which_day_it_can_be_measured(people):
    ticket, day = _launched(people, metric="signup_rate", days_ago=0)

    with pytest.raises(ApplicationError) as error:
        impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=7)

    assert error.value.errors == {"window_days": [
        f"Launched {day}: no full day after the launch has ended yet. The impact can be measured from "
        f"{day + timedelta(days=1)} (1-day windows), a 7-day window from {day + timedelta(days=7)}."]}
    assert "at most 0" not in str(error.value.errors)
    assert ImpactAnalysis.objects.count() == 0


def test_the_day_after_launch_a_one_day_window_is_measured(people):
    ticket, day = _launched(people, metric="signup_rate", days_ago=1)

    analysis = impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=1)

    assert (analysis.before_from, analysis.before_to, analysis.after_from, analysis.after_to) == (
        day - timedelta(days=1), day - timedelta(days=1), day, day)
