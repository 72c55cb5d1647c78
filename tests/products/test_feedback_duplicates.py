"""Feedback attached to a ticket it is already on is refused with a message (service, page, API): the ask is
counted, and its watchers told, once."""

from __future__ import annotations

import pytest

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from products.models import FeedbackItem, Notification
from products.services.feedback import feedback_create, feedback_triage

pytestmark = pytest.mark.django_db


def _items(people, n):
    return [feedback_create(created_by=people["merchant_ops"], source="merchant", who=f"M0000{i}",
                            text="Coupons for new customers please") for i in range(n)]


def test_attaching_the_same_feedback_twice_is_refused_and_counted_once(people, ticket):
    first, second = _items(people, 2)
    feedback_triage(actor=people["product_ops"], feedback_ids=[first.pk], ticket_id=ticket.pk)
    notified = Notification.objects.count()

    with pytest.raises(ApplicationError) as refused:
        feedback_triage(actor=people["product_ops"], feedback_ids=[first.pk, second.pk], ticket_id=ticket.pk)

    assert refused.value.status_code == 400 and refused.value.code == "already_attached"
    assert refused.value.message == f"Some feedback is already attached to {ticket.key}."
    assert refused.value.errors == {"feedback_ids": [f"Already attached: #{first.pk}."]}
    ticket.refresh_from_db()
    assert ticket.feedback_count == 1
    assert FeedbackItem.objects.get(pk=second.pk).ticket_id is None  # all or nothing
    assert Notification.objects.count() == notified


def test_the_same_id_twice_in_one_request_counts_once(people, ticket, client_for):
    (item,) = _items(people, 1)

    response = client_for(Role.PM).post("/products/feedback/triage/", {
        "feedback_ids": [item.pk, item.pk], "ticket": ticket.key}, follow=True)

    ticket.refresh_from_db()
    assert ticket.feedback_count == 1
    assert f"1 item(s) attached to {ticket.key}." in response.content.decode()


@pytest.mark.parametrize(("language", "expected"), [("en", "is already attached to"), ("zh-hans", "已关联到")])
def test_the_page_and_the_api_say_why_in_the_readers_language(people, ticket, client_for, api_client_for,
                                                                 language, expected):
    (item,) = _items(people, 1)
    feedback_triage(actor=people["product_ops"], feedback_ids=[item.pk], ticket_id=ticket.pk)

    page = client_for(Role.PM).post("/products/feedback/triage/", {"feedback_ids": [item.pk], "ticket": ticket.key},
                                    follow=True, headers={"accept-language": language})
    api = api_client_for(Role.PM).post("/api/v1/products/feedback/triage/", {
        "feedback_ids": [item.pk], "ticket": ticket.pk}, format="json", headers={"accept-language": language})

    assert expected in page.content.decode()
    assert api.status_code == 400 and expected in api.json()["message"]
    assert api.json()["errors"]["feedback_ids"][0].endswith(f"#{item.pk}." if language == "en" else f"#{item.pk}。")
