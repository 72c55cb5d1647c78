"""The products API: filters and pagination, field-level 400s, 403 for moves a role may not make (nothing
changes), 409 on a stale version, plans, checks, impact, launches, feedback, notifications; pinned queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from products.models import FeedbackItem, Ticket, TrackingPlan
from products.services.tickets import ticket_create
from tests.factories import local_time
from tests.products.conftest import PLAN_EVENTS, approve_plan

pytestmark = pytest.mark.django_db
API = "/api/v1/products"


@pytest.fixture
def api(people):
    def as_(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=people[username])
        return client

    return as_


def test_file_a_ticket_and_read_it_back(api, people):
    response = api("user_ops").post(f"{API}/tickets/", {
        "title": "Coupon pack", "description": "# Why", "kind": "campaign_support", "priority": 3, "owner_pm": "pm",
        "assignees": ["analyst"], "aarrr_stage": "activation", "target_metric": "signup_rate",
        "expected_change": "+2 points", "due_date": "2026-12-31", "labels": ["growth"],
        "links": [{"kind": "merchant", "ref": "M00001"}]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == f"REQ-{body['id']}"
    assert (body["requester"], body["owner_pm"], body["assignees"], body["status"], body["version"]) == (
        "user_ops", "pm", ["analyst"], "proposed", 1)
    assert body["allowed_moves"] == []  # user ops proposes; the PM triages
    assert api("pm").get(f"{API}/tickets/{body['id']}/").json()["allowed_moves"] == ["triaged", "rejected",
                                                                                     "cancelled"]


def test_bad_ticket_input_is_a_field_level_400(api):
    response = api("pm").post(f"{API}/tickets/", {"title": "", "kind": "wish", "owner_pm": "ghost",
                                                  "links": [{"kind": "shop"}]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"title", "kind", "owner_pm", "links"}
    assert Ticket.objects.count() == 0


def test_list_filters_and_paginates_with_pinned_queries(api, people, django_assert_num_queries):
    for i in range(12):
        ticket_create(requester=people["user_ops"], title=f"Ticket {i}", kind="bug" if i % 2 else "feature",
                      owner_pm=people["pm"], assignees=[people["analyst"]], labels=["growth"] if i < 3 else [])
    client = api("analyst")

    # the caller's roles (groups), the page count, the page rows with their people, the assignees
    with django_assert_num_queries(4):
        response = client.get(f"{API}/tickets/?kind=bug&page_size=5")

    body = response.json()
    assert body["count"] == 6
    assert len(body["results"]) == 5
    assert body["next"].endswith("page=2&page_size=5") or "page=2" in body["next"]
    assert client.get(f"{API}/tickets/?label=growth").json()["count"] == 3
    assert client.get(f"{API}/tickets/?status=proposed&status=triaged").json()["count"] == 12
    assert client.get(f"{API}/tickets/?q=REQ-{Ticket.objects.order_by('id').first().pk}").json()["count"] == 1
    assert client.get(f"{API}/tickets/?mine=true").json()["count"] == 12  # an assignee of each
    bad = client.get(f"{API}/tickets/?status=done&priority=9")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"status", "priority"}


def test_a_move_the_role_may_not_make_is_403_and_changes_nothing(api, ticket):
    response = api("merchant_ops").post(f"{API}/tickets/{ticket.pk}/moves/", {"to_status": "triaged"}, format="json")

    assert response.status_code == 403
    assert response.json()["message"] == "Your role does not allow this move."
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.transitions.count()) == ("proposed", 1, 1)


def test_allowed_moves_are_the_ones_the_server_accepts_now_role_and_gate(api, people):
    """A ticket in testing without an approved plan: the PM may go back to development or cancel, not on to launch
    (the gate is shut, and the detail says why); user ops may do none; once the plan is approved the PM may launch."""
    ticket = Ticket.objects.create(title="t", status="testing", requester=people["pm"])
    detail = api("pm").get(f"{API}/tickets/{ticket.pk}/").json()

    assert detail["allowed_moves"] == ["in_development", "cancelled"]
    blocked = {move["to"]: move for move in detail["moves"]}["ready_to_launch"]
    assert (blocked["allowed"], blocked["reason"]) == (False, "Ready to launch needs an approved tracking plan (打點) "
                                                              "first.")
    assert api("user_ops").get(f"{API}/tickets/{ticket.pk}/").json()["allowed_moves"] == []
    refused = api("pm").post(f"{API}/tickets/{ticket.pk}/moves/", {"to_status": "ready_to_launch"}, format="json")
    assert refused.status_code == 400

    approve_plan(ticket, people)
    assert api("pm").get(f"{API}/tickets/{ticket.pk}/").json()["allowed_moves"] == ["in_development",
                                                                                    "ready_to_launch", "cancelled"]
    moved = api("pm").post(f"{API}/tickets/{ticket.pk}/moves/", {"to_status": "ready_to_launch", "version": 1},
                           format="json")
    assert moved.status_code == 200, moved.json()


def test_gate_and_unknown_move_are_400_with_fields(api, people):
    ticket = Ticket.objects.create(title="t", status="testing", requester=people["pm"])

    gate = api("pm").post(f"{API}/tickets/{ticket.pk}/moves/", {"to_status": "ready_to_launch"}, format="json")
    jump = api("pm").post(f"{API}/tickets/{ticket.pk}/moves/", {"to_status": "concluded"}, format="json")

    assert (gate.status_code, gate.json()["code"]) == (400, "gate")
    assert gate.json()["errors"] == {"to_status": ["Ready to launch needs an approved tracking plan (打點) first."]}
    assert (jump.status_code, jump.json()["code"]) == (400, "invalid_move")


def test_concurrent_edit_is_a_409_with_a_clear_message(api, ticket):
    first = api("pm").patch(f"{API}/tickets/{ticket.pk}/", {"title": "PM's", "version": 1}, format="json")
    second = api("user_ops").patch(f"{API}/tickets/{ticket.pk}/", {"title": "Ops'", "version": 1}, format="json")
    missing = api("user_ops").patch(f"{API}/tickets/{ticket.pk}/", {"title": "Ops'"}, format="json")

    assert first.status_code == 200
    assert first.json()["version"] == 2
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert second.json()["message"].startswith(f"{ticket.key} was changed by someone else since you opened it")
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"version": ["The version you loaded is required."]}
    ticket.refresh_from_db()
    assert ticket.title == "PM's"


def test_history_comments_and_watch(api, ticket):
    client = api("user_ops")  # the requester
    client.patch(f"{API}/tickets/{ticket.pk}/", {"priority": 4, "version": 1}, format="json")
    comment = client.post(f"{API}/tickets/{ticket.pk}/comments/", {"body": "@pm please look"}, format="json")
    watch = client.delete(f"{API}/tickets/{ticket.pk}/watch/")

    assert comment.status_code == 201
    assert comment.json()["mentions"] == ["pm"]
    assert watch.json() == {"watching": False}
    history = client.get(f"{API}/tickets/{ticket.pk}/history/").json()
    assert [entry["kind"] for entry in history] == ["move", "change", "comment"]
    assert (history[1]["field"], history[1]["before"], history[1]["after"]) == ("priority", 2, 4)


def test_attachments_api(api, ticket, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = api("pm")

    ok = client.post(f"{API}/tickets/{ticket.pk}/attachments/",
                     {"file": SimpleUploadedFile("notes.txt", b"hello")}, format="multipart")
    bad = client.post(f"{API}/tickets/{ticket.pk}/attachments/",
                      {"file": SimpleUploadedFile("x.exe", b"MZ")}, format="multipart")

    assert ok.status_code == 201
    assert (ok.json()["name"], ok.json()["size"]) == ("notes.txt", 5)
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["file"]
    assert [a["name"] for a in client.get(f"{API}/tickets/{ticket.pk}/attachments/").json()] == ["notes.txt"]


def test_plan_lifecycle_through_the_api(api, ticket):
    saved = api("pm").post(f"{API}/tickets/{ticket.pk}/plans/", {"events": PLAN_EVENTS}, format="json")
    denied = api("pm").post(f"{API}/tickets/{ticket.pk}/plans/1/review/", {"approve": True}, format="json")
    submitted = api("pm").post(f"{API}/tickets/{ticket.pk}/plans/1/submit/")
    approved = api("analyst").post(f"{API}/tickets/{ticket.pk}/plans/1/review/", {"approve": True}, format="json")
    bad = api("pm").post(f"{API}/tickets/{ticket.pk}/plans/", {"events": [{"name": "X"}]}, format="json")

    assert saved.status_code == 201
    assert denied.status_code == 403
    assert submitted.json()["status"] == "in_review"
    assert approved.json()["status"] == "approved"
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"events[0].name": [
        "Use lower-case letters, digits and underscores, starting with a letter."]}
    schema = api("user_ops").get(f"{API}/tickets/{ticket.pk}/plans/1/schema/").json()
    assert [variant["title"] for variant in schema["oneOf"]] == ["coupon_shown", "coupon_claimed"]
    api("pm").post(f"{API}/tickets/{ticket.pk}/plans/", {"events": PLAN_EVENTS[:1]}, format="json")
    diff = api("pm").get(f"{API}/tickets/{ticket.pk}/plans/diff/?base=1&other=2").json()
    assert (diff["added_events"], diff["removed_events"]) == ([], ["coupon_claimed"])


def test_tracking_check_and_health(api, people, ticket):
    approve_plan(ticket, people)

    check = api("pm").post(f"{API}/tickets/{ticket.pk}/tracking-check/", {}, format="json")
    denied = api("user_ops").post(f"{API}/tickets/{ticket.pk}/tracking-check/", {}, format="json")
    health = api("user_ops").get(f"{API}/products/tracking-health/?days=3".replace("/products/products", "/products"))

    assert check.status_code == 201
    assert check.json()["result"]["coverage"][0] == {"event": "coupon_shown", "seen": False, "count": 0,
                                                     "first_seen": None}
    assert denied.status_code == 403
    health = api("user_ops").get(f"{API}/tracking-health/?days=3")
    assert health.status_code == 200
    assert health.json()["plans"] == 1
    assert api("user_ops").get(f"{API}/tracking-health/?days=99").status_code == 400


def test_impact_launches_and_roles(api, people):
    day = timezone.localdate() - timedelta(days=5)
    ticket = Ticket.objects.create(title="t", status="launched", target_metric="signup_rate",
                                   launched_at=local_time(day, 10), requester=people["pm"])

    denied = api("pm").post(f"{API}/tickets/{ticket.pk}/impact/", {"window_days": 2}, format="json")
    made = api("analyst").post(f"{API}/tickets/{ticket.pk}/impact/", {"window_days": 2}, format="json")
    launches = api("merchant_ops").get(f"{API}/launches/?date_from={day}&date_to={day}")

    assert denied.status_code == 403
    assert made.status_code == 201
    assert made.json()["numbers"]["samples"] == {"before": {"base": 0, "converted": 0},
                                                 "after": {"base": 0, "converted": 0}}
    assert [row["key"] for row in launches.json()] == [ticket.key]
    assert api("pm").get(f"{API}/launches/?date_from=x").status_code == 400


def test_feedback_intake_and_triage(api, ticket):
    logged = api("merchant_ops").post(f"{API}/feedback/", {"source": "merchant", "who": "M00001",
                                                           "text": "Coupons please", "category": "request"},
                                      format="json")
    denied_log = api("analyst").post(f"{API}/feedback/", {"source": "merchant", "who": "x", "text": "y"},
                                     format="json")
    denied = api("merchant_ops").post(f"{API}/feedback/triage/", {"feedback_ids": [logged.json()["id"]],
                                                                  "ticket": ticket.pk}, format="json")
    triaged = api("product_ops").post(f"{API}/feedback/triage/", {"feedback_ids": [logged.json()["id"]],
                                                                  "ticket": ticket.pk}, format="json")

    assert logged.status_code == 201
    assert denied_log.status_code == 403
    assert denied.status_code == 403
    assert triaged.json()["feedback_count"] == 1
    assert FeedbackItem.objects.get().ticket_id == ticket.pk
    assert api("pm").get(f"{API}/feedback/?triaged=false").json()["count"] == 0


def test_notifications_are_personal(api, ticket):
    mine = api("pm").get(f"{API}/notifications/?unread=true").json()
    marked = api("pm").post(f"{API}/notifications/read/", {}, format="json").json()

    assert [n["message"] for n in mine["results"]] == [f"{ticket.key} was filed for you: New-user coupon pack"]
    assert marked["marked"] == 1
    assert api("analyst").get(f"{API}/notifications/").json()["count"] == 0


def test_iterations_api(api, people):
    parent = Ticket.objects.create(title="p", status="concluded", requester=people["pm"])

    denied = api("analyst").post(f"{API}/tickets/{parent.pk}/iterations/", {"title": "next"}, format="json")
    made = api("product_ops").post(f"{API}/tickets/{parent.pk}/iterations/", {"title": "next"}, format="json")

    assert denied.status_code == 403
    assert made.status_code == 201
    chain = api("analyst").get(f"{API}/tickets/{made.json()['id']}/iterations/").json()
    assert [row["key"] for row in chain] == [parent.key, made.json()["key"]]
    assert TrackingPlan.objects.count() == 0


def test_impact_on_launch_day_is_a_400_saying_from_which_day(api, people):
    day = timezone.localdate()
    ticket = Ticket.objects.create(title="t", status="launched", target_metric="signup_rate",
                                   launched_at=local_time(day, 10), requester=people["pm"])

    response = api("analyst").post(f"{API}/tickets/{ticket.pk}/impact/", {"window_days": 7}, format="json")
    bad = api("analyst").post(f"{API}/tickets/{ticket.pk}/impact/", {"window_days": "x"}, format="json")

    assert response.status_code == 400
    assert f"measured from {day + timedelta(days=1)}" in response.json()["errors"]["window_days"][0]
    assert bad.status_code == 400 and "window_days" in bad.json()["errors"]
