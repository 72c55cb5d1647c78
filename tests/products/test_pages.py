"""Pages: lists (query counts pinned and flat), board, roadmap, ticket page (buttons only for allowed moves),
forms with field errors, the version conflict, role checks on the POST pages (nothing changes)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from products.models import FeedbackItem, Ticket, TrackingPlan
from products.services.impact import impact_analysis_create
from products.services.tickets import ticket_create
from tests.factories import local_time
from tests.products.conftest import approve_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, people):
    def as_(username: str):
        client.force_login(people[username])
        return client

    return as_


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/products/tickets/", "/products/tickets/mine/", "/products/board/",
                                 "/products/roadmap/?period=quarter", "/products/feedback/"])
def test_list_pages_have_a_flat_query_count(login, people, url):
    client = login("pm")
    ticket_create(requester=people["user_ops"], title="first", owner_pm=people["pm"], due_date=date(2026, 12, 1))
    few = _count_queries(client, url)

    for i in range(15):
        ticket_create(requester=people["user_ops"], title=f"more {i}", owner_pm=people["pm"],
                      assignees=[people["analyst"], people["pm"]], labels=["x"], due_date=date(2027, 1, 1 + i))
        FeedbackItem.objects.create(source="customer", who=f"c{i}", text="please")

    assert _count_queries(client, url) == few


def test_ticket_list_pins_its_queries(login, people, django_assert_num_queries):
    client = login("analyst")
    for i in range(5):
        ticket_create(requester=people["user_ops"], title=f"t{i}", assignees=[people["pm"]])

    # session, user, roles, unread notifications, tickets with people, assignees
    with django_assert_num_queries(6):
        response = client.get("/products/tickets/?kind=feature")

    assert response.status_code == 200
    assert response.content.decode().count('data-testid="ticket-row"') == 5


def test_list_filter_errors_are_a_400_with_the_field(login):
    response = login("pm").get("/products/tickets/?priority=9")

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_board_and_roadmap_show_the_tickets(login, people):
    ticket_create(requester=people["user_ops"], title="Due soon", due_date=date(2027, 2, 3))
    client = login("merchant_ops")

    board = client.get("/products/board/").content.decode()
    month = client.get("/products/roadmap/").content.decode()
    quarter = client.get("/products/roadmap/?period=quarter").content.decode()

    assert 'data-testid="col-proposed"' in board and "Due soon" in board
    assert 'data-testid="period-2027-02"' in month
    assert 'data-testid="period-2027-Q1"' in quarter


def test_ticket_page_shows_only_the_moves_the_user_may_make(login, ticket):
    as_ops = login("user_ops").get(f"/products/tickets/{ticket.pk}/").content.decode()
    as_pm = login("pm").get(f"/products/tickets/{ticket.pk}/").content.decode()

    assert 'data-testid="move-' not in as_ops
    assert all(f'data-testid="move-{state}"' in as_pm for state in ("triaged", "rejected", "cancelled"))
    assert "<strong>Grow</strong> sign-ups" in as_pm


def test_ticket_page_with_plan_check_impact_and_history(login, people, ticket):
    approve_plan(ticket, people)
    Ticket.objects.filter(pk=ticket.pk).update(status="launched",
                                               launched_at=local_time(timezone.localdate() - timedelta(days=5)))
    impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=3, conclusion="Flat.")
    client = login("analyst")
    client.post(f"/products/tickets/{ticket.pk}/check/")

    page = client.get(f"/products/tickets/{ticket.pk}/").content.decode()

    assert 'data-testid="plan-status">approved<' in page
    assert "coupon_shown" in page and "not seen" in page
    assert 'data-testid="impact-conclusion">Flat.<' in page
    assert "Two-proportion z-test" in page


def test_filing_from_the_page_and_field_errors(login, people):
    client = login("merchant_ops")

    bad = client.post("/products/tickets/new/", {"title": "", "kind": "feature", "priority": 2,
                                                 "links": "shop:1"})
    good = client.post("/products/tickets/new/", {"title": "Merchant ratings", "kind": "feature", "priority": 3,
                                                  "labels": "search, ratings", "links": "merchant:M00001",
                                                  "owner_pm": people["pm"].pk})

    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
    ticket = Ticket.objects.get()
    assert good["Location"] == f"/products/tickets/{ticket.pk}/"
    assert (ticket.labels, ticket.links, ticket.owner_pm) == (["ratings", "search"],
                                                             [{"kind": "merchant", "ref": "M00001"}], people["pm"])


def test_stale_edit_page_is_a_409_and_saves_nothing(login, people, ticket):
    client = login("user_ops")  # the requester
    form = {"title": "Ops' title", "kind": "feature", "priority": 2, "version": 1}
    login("pm").post(f"/products/tickets/{ticket.pk}/edit/", {**form, "title": "PM's title"})

    response = login("user_ops").post(f"/products/tickets/{ticket.pk}/edit/", form)

    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.title, ticket.version) == ("PM's title", 2)
    assert client is not None


def test_forbidden_move_from_the_page_changes_nothing(login, ticket):
    response = login("analyst").post(f"/products/tickets/{ticket.pk}/move/", {"to_status": "triaged"}, follow=True)

    assert "Your role does not allow this move." in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == ("proposed", 1)


@pytest.mark.parametrize(("url", "role"), [
    ("plan/1/review/", "pm"), ("check/", "user_ops"), ("impact/", "pm"), ("iterate/", "analyst"),
    ("plan/", "merchant_ops"),
])
def test_role_gated_ticket_pages_refuse_and_change_nothing(login, ticket, url, role):
    response = login(role).post(f"/products/tickets/{ticket.pk}/{url}", {"decision": "approve", "window_days": 3,
                                                                          "title": "x", "events": "[]"})

    assert response.status_code == 403
    assert TrackingPlan.objects.count() == 0
    assert Ticket.objects.count() == 1


def test_feedback_page_logs_and_triages(login, ticket):
    login("merchant_ops").post("/products/feedback/", {"source": "merchant", "who": "M00009", "category": "request",
                                                        "text": "New-user coupons"})
    item = FeedbackItem.objects.get()
    denied = login("merchant_ops").post("/products/feedback/triage/", {"feedback_ids": [item.pk],
                                                                       "ticket": ticket.key})
    login("product_ops").post("/products/feedback/triage/", {"feedback_ids": [item.pk], "ticket": ticket.key})

    assert denied.status_code == 403
    ticket.refresh_from_db()
    assert ticket.feedback_count == 1
    page = login("pm").get(f"/products/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="feedback-count">1<' in page


def test_tracking_health_page(login, people, ticket):
    approve_plan(ticket, people)

    page = login("user_ops").get("/products/tracking-health/").content.decode()

    assert "Events no plan defines" in page
    assert "1 ticket(s)" in page


def test_the_ticket_page_labels_the_measure_and_says_when_a_launch_can_be_measured(login, people, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status="launched", launched_at=local_time(timezone.localdate(), 9))
    client = login("analyst")

    launch_day = client.get(f"/products/tickets/{ticket.pk}/").content.decode()

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert f"Launched today: the impact can be measured from {tomorrow}" in launch_day
    response = client.post(f"/products/tickets/{ticket.pk}/impact/", {"window_days": 1}, follow=True)
    assert f"measured from {tomorrow}" in response.content.decode()
    assert "at most 0" not in response.content.decode()

    Ticket.objects.filter(pk=ticket.pk).update(launched_at=local_time(timezone.localdate() - timedelta(days=4), 9))
    impact_analysis_create(ticket_id=ticket.pk, actor=people["analyst"], window_days=3)
    page = client.get(f"/products/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="impact-measure"' in page and "signup / visit customer-days" in page
    assert "The headline and the chart show the same measure" in page
    assert "Windows of up to 4 days" in page
    assert '"windows": [' in page and '"window_label": "window value (the headline)"' in page
