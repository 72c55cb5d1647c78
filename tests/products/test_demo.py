"""The product loop in the demo data set: every state, plans, real launch effects, violations, feedback, iterations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Event
from ops_platform.dashboard.demo import demo_seed
from products.models import FeedbackItem, ImpactAnalysis, Ticket, TrackingCheck, TrackingPlan
from products.selectors import tracking_health


@pytest.mark.django_db
def test_demo_has_the_product_loop_with_real_effects():
    end = timezone.localdate() - timedelta(days=1)

    result = demo_seed(customers=1500, days=60, seed=3, end=end, merchants=30)

    assert result.tickets_created == 12
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert TrackingPlan.objects.filter(status="approved").count() == 5
    assert set(TrackingPlan.objects.values_list("status", flat=True)) == set(TrackingPlan.Status.values)
    photos = Ticket.objects.get(title="Merchant photos on the search results")
    assert photos.outcome == "success"
    assert list(photos.iterations.values_list("title", flat=True)) == ["Merchant ratings shown on the search results"]
    analysis = ImpactAnalysis.objects.get(ticket=photos)
    assert analysis.numbers["after"] > analysis.numbers["before"]
    invite = ImpactAnalysis.objects.get(ticket__title="Invite-a-friend reward raised to 15 yuan")
    assert invite.numbers["after"] > invite.numbers["before"]
    check = TrackingCheck.objects.get(ticket__title="Reorder button on past orders")
    assert {v["kind"] for v in check.result["violations"]} >= {"wrong_type", "value_not_allowed", "missing_required"}
    assert Event.objects.filter(event="share_click").exists()
    health = tracking_health(days=7, end_day=end)
    assert [row["event"] for row in health["unexpected_events"]] == ["share_click"]
    assert Ticket.objects.get(title="New-user coupon pack on the sign-up page").feedback_count == 3
    assert FeedbackItem.objects.filter(ticket__isnull=True).count() == 2

    again = demo_seed(customers=1500, days=60, seed=3, end=end, merchants=30)
    assert (again.tickets_created, again.events_stored) == (0, 0)
