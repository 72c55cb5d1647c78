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
    assert error.value.errors == {"window_days": ["The after window must end before today: choose at most 5 days."]}
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
