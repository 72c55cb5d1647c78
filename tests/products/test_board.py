"""The ticket board: columns of 30 cards with their counts, the next page as JSON, and moves through the ticket move
API (``ticket_move``: the role rules and the gates) as the board's script posts them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from products.models import Ticket, TicketTransition
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/products/board/")
    return client


def _move(client: Client, ticket_id: int, **body):
    return client.post(f"/api/v1/products/tickets/{ticket_id}/moves/", body, content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def _at(ticket: Ticket, status: str) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()
    return ticket


def test_columns_show_30_cards_with_counts_and_the_next_page_is_json(people):
    for _ in range(33):
        TicketFactory(requester=people["user_ops"])
    client = Client()
    client.force_login(people["analyst"])

    columns = client.get("/products/board/").context["columns"]
    page = client.get("/products/board/column/", {"status": "proposed", "offset": 30}).json()

    assert [(c.key, c.count, len(c.cards)) for c in columns][:2] == [("proposed", 33, 30), ("triaged", 0, 0)]
    assert "rejected" not in [c.key for c in columns]
    assert columns[0].more_url == "/products/board/column/?status=proposed&offset=30"
    assert (page["count"], page["shown"], page["next"]) == (33, 3, "")


def test_bad_column_input_is_a_400_with_field_errors(people):
    client = Client()
    client.force_login(people["pm"])

    response = client.get("/products/board/column/", {"status": "rejected", "offset": "a"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "offset"}


def test_ticket_board_query_count_is_fixed(people, django_assert_num_queries):
    client = Client()
    client.force_login(people["pm"])
    for _ in range(3):
        TicketFactory(requester=people["user_ops"], owner_pm=people["pm"])
    client.get("/products/board/")
    with django_assert_num_queries(4):  # session, user, roles, the windowed board
        client.get("/products/board/")
    for _ in range(40):
        TicketFactory(requester=people["user_ops"], owner_pm=people["admin"])
    with django_assert_num_queries(4):
        client.get("/products/board/")
    with django_assert_num_queries(5):  # session, user, roles, count, page
        client.get("/products/board/column/", {"status": "proposed", "offset": 30})


def test_cards_show_the_owner_and_an_overdue_due_date(people, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    client = Client()
    client.force_login(people["analyst"])

    html = client.get("/products/board/").content.decode()
    card = html.split(f'data-testid="card-{ticket.key}"')[1].split("</article>")[0]

    assert "pm" in card and ", overdue" in card and 'class="small overdue"' in card


def test_the_menu_offers_the_moves_of_the_viewers_role(people, ticket):
    as_pm = Client()
    as_pm.force_login(people["pm"])
    as_ops = Client()
    as_ops.force_login(people["user_ops"])

    pm_card = as_pm.get("/products/board/").context["columns"][0].cards[0]
    ops_card = as_ops.get("/products/board/").context["columns"][0].cards[0]

    assert [value for value, _ in pm_card.moves] == ["triaged", "rejected", "cancelled"]
    assert ops_card.moves == []


def test_a_pm_moves_a_ticket(people, ticket):
    response = _move(_client(people["pm"]), ticket.pk, to_status="triaged")

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).status == "triaged"


def test_a_closed_gate_answers_its_message_and_nothing_changes(people, ticket):
    _at(ticket, "testing")
    transitions = TicketTransition.objects.filter(ticket=ticket).count()

    response = _move(_client(people["pm"]), ticket.pk, to_status="ready_to_launch")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "to_status": ["Ready to launch needs an approved tracking plan (打點) first."]}
    assert Ticket.objects.get(pk=ticket.pk).status == "testing"
    assert TicketTransition.objects.filter(ticket=ticket).count() == transitions


def test_a_move_off_the_workflow_is_refused_with_its_message(people, ticket):
    response = _move(_client(people["pm"]), ticket.pk, to_status="launched")

    assert response.status_code == 400
    assert response.json()["message"] == "A ticket cannot move from “proposed” to “launched”."
    assert Ticket.objects.get(pk=ticket.pk).status == "proposed"


def test_rejecting_needs_a_reason(people, ticket):
    client = _client(people["pm"])

    without = _move(client, ticket.pk, to_status="rejected")
    with_reason = _move(client, ticket.pk, to_status="rejected", reason="Out of scope this year.")

    assert without.status_code == 400
    assert without.json()["errors"] == {"reason": ["Say why the requirement is rejected."]}
    assert with_reason.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).rejection_reason == "Out of scope this year."


@pytest.mark.parametrize("role", ["user_ops", "product_ops", "analyst"])
def test_a_role_that_may_not_make_the_move_gets_a_403(people, ticket, role):
    response = _move(_client(people[role]), ticket.pk, to_status="triaged")

    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "proposed"


def test_bad_move_input_is_a_400_with_field_errors(people, ticket):
    response = _move(_client(people["pm"]), ticket.pk, to_status=["x"], version="y")

    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"version"}
    assert Ticket.objects.get(pk=ticket.pk).status == "proposed"
