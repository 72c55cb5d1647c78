"""The merchant page's live analytics are reused for a few minutes per merchant and day, and the page says how old
they are (bench/pages.py measures every page)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def test_reopening_a_merchant_reuses_its_analytics_and_says_when_they_were_computed(client_for):
    merchant = MerchantFactory(code="M001")
    client = client_for(Role.ANALYST)

    with CaptureQueriesContext(connection) as first:
        opened = client.get(f"/merchants/{merchant.pk}/")
    with CaptureQueriesContext(connection) as again:
        reopened = client.get(f"/merchants/{merchant.pk}/")

    assert opened.status_code == reopened.status_code == 200
    assert 'data-testid="analytics-computed-at"' in reopened.content.decode()
    assert "recomputed every 10 minutes" in reopened.content.decode()
    assert reopened.context["analytics"]["computed_at"] == opened.context["analytics"]["computed_at"]
    assert len(again) < len(first)


def test_another_merchant_is_computed_for_itself(client_for):
    first, second = MerchantFactory(code="M001"), MerchantFactory(code="M002")
    client = client_for(Role.ANALYST)

    client.get(f"/merchants/{first.pk}/")
    page = client.get(f"/merchants/{second.pk}/")

    assert page.context["merchant"].code == "M002"
    assert page.context["analytics"]["funnel"][0]["count"] == 0
