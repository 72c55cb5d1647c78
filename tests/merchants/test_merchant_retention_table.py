"""The merchant page's retention table: column headers, weeks not started blank, the week in progress marked "so far".
The clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time

pytestmark = pytest.mark.django_db


def _order(who, day, merchant="M1"):
    return event_row("order_paid", who, local_time(day, 12), merchant_id=merchant, amount=10.0,
                     order_id=f"{who}-{day}")


def test_the_retention_table_has_headers_and_marks_the_weeks_of_a_young_cohort(client_for):
    merchant = MerchantFactory(code="M1")
    events_load([_order("a", date(2026, 11, 17)), _order("a", date(2026, 11, 24))])

    response = client_for(Role.ANALYST).get(f"/merchants/{merchant.pk}/")

    assert response.status_code == 200
    assert response.context["analytics"]["retention"] == [
        {"cohort": "2026-11-16", "size": 1, "retained": [1, 1, None, None, None, None], "complete": 1}]
    table = response.content.decode().split('data-testid="merchant-retention"')[1].split("</table>")[0]
    headers = table.split("</thead>")[0]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", headers) == ["First order week", "Buyers",
                                                             *[f"Week {k}" for k in range(6)]]
    row = table.split("<tbody>")[1]
    assert row.count('title="Not started yet"') == 4
    assert row.count('class="num so-far"') == 1 and ">so far</small>" in row
