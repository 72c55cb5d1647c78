"""Launches show on the analytics charts (registered by products; analytics imports no domain app)."""

from __future__ import annotations

from datetime import date, timedelta

from analytics.models import AarrrDaily
from ops_platform.core.chart_markers import chart_markers
from ops_platform.core.roles import Role
from tests.factories import TicketFactory, local_time

DAY = date(2026, 3, 10)


def test_launches_in_the_range_are_markers(db):
    inside = TicketFactory(title="Coupon pack", status="launched", launched_at=local_time(DAY, 9))
    TicketFactory(title="Too early", status="launched", launched_at=local_time(DAY - timedelta(days=30), 9))

    markers = chart_markers(date_from=DAY - timedelta(days=6), date_to=DAY)

    assert markers == [{"date": DAY, "label": f"{inside.key} Coupon pack", "url": f"/products/tickets/{inside.pk}/",
                        "kind": "launch"}]


def test_the_aarrr_page_marks_launches(client_for, db):
    AarrrDaily.objects.create(date=DAY, channel="wechat", acquisition=1)
    ticket = TicketFactory(title="Reorder button", status="launched", launched_at=local_time(DAY, 9))

    response = client_for(Role.PM).get("/analytics/aarrr/", {"date_from": "2026-03-01", "date_to": "2026-03-31"})

    assert response.context["chart"]["markers"] == [{"date": "2026-03-10", "label": f"{ticket.key} Reorder button"}]
    assert f"2026-03-10 {ticket.key} Reorder button" in response.content.decode()
