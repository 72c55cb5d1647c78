"""Tickets: creation, the workflow by role with its gates, the version check, comments, watchers, history."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import TICKET_MOVES, Role
from products.models import Notification, Ticket, TicketChange, TicketTransition
from products.rendering import markdown_render
from products.services.impact import impact_windows  # noqa: F401 — imported to prove the module loads
from products.services.tickets import (
    ticket_attachment_add,
    ticket_comment_add,
    ticket_create,
    ticket_iterate,
    ticket_move,
    ticket_update,
    ticket_watch,
)
from tests.products.conftest import approve_plan

pytestmark = pytest.mark.django_db


def test_ticket_create_gives_a_key_watchers_and_a_first_record(people, ticket):
    assert ticket.key == f"REQ-{ticket.pk}"
    assert ticket.status == Ticket.Status.PROPOSED
    assert ticket.version == 1
    assert set(ticket.watchers.values_list("username", flat=True)) == {"user_ops", "pm"}
    assert list(ticket.transitions.values_list("from_status", "to_status")) == [("", "proposed")]
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["pm"]


def test_ticket_create_refuses_bad_fields_by_name(people):
    with pytest.raises(ApplicationError) as error:
        ticket_create(requester=people["user_ops"], title="", kind="wish", links=[{"kind": "shop", "ref": "x"}])

    assert set(error.value.errors) == {"links"}
    with pytest.raises(ApplicationError) as error:
        ticket_create(requester=people["user_ops"], title="", kind="wish")
    assert set(error.value.errors) == {"title", "kind"}
    assert Ticket.objects.count() == 0


def test_markdown_is_rendered_and_sanitised():
    html = markdown_render("**bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.example)")

    assert "<strong>bold</strong>" in html
    assert "<script>" not in html
    assert "javascript:" not in html
    assert 'href="https://a.example"' in html


# The workflow


HAPPY_PATH = ["triaged", "designing", "in_development", "testing", "ready_to_launch", "launched", "analysing"]


def test_pm_moves_a_ticket_to_launch_and_every_move_is_recorded(people, ticket):
    approve_plan(ticket, people)

    for state in HAPPY_PATH[:-1]:
        ticket = ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status=state, comment=f"to {state}")

    assert ticket.status == "launched"
    assert ticket.launched_at is not None
    assert ticket.version == 7
    moves = list(TicketTransition.objects.filter(ticket=ticket).values_list(
        "from_status", "to_status", "actor__username", "comment"))
    assert moves[1:] == [(a, b, "pm", f"to {b}") for a, b in zip(["proposed", *HAPPY_PATH[:5]], HAPPY_PATH[:6],
                                                                 strict=True)]


def _ticket_in(state, people):
    ticket = Ticket.objects.create(title="t", status=state, requester=people["user_ops"])
    return ticket


@pytest.mark.parametrize(("move", "allowed"), [(move, allowed) for move, allowed in TICKET_MOVES.items()],
                         ids=[f"{a}->{b}" for a, b in TICKET_MOVES])
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_move_is_allowed_exactly_for_its_roles(people, role, move, allowed):
    from_status, to_status = move
    ticket = _ticket_in(from_status, people)
    if to_status == "ready_to_launch":
        approve_plan(ticket, people)
    extra = {}
    if to_status == "rejected":
        extra = {"reason": "out of scope"}
    if to_status == "concluded":
        extra = {"outcome": "success", "analysis_summary": "up"}
        ticket.analyses.create(metric="signup_rate", window_days=7, before_from="2026-01-01", before_to="2026-01-07",
                               after_from="2026-01-08", after_to="2026-01-14")

    if role in allowed:
        moved = ticket_move(ticket_id=ticket.pk, actor=people[role.value], to_status=to_status, **extra)
        assert moved.status == to_status
        assert ticket.transitions.count() == 1
    else:
        with pytest.raises(ApplicationError) as error:
            ticket_move(ticket_id=ticket.pk, actor=people[role.value], to_status=to_status, **extra)
        assert error.value.status_code == 403
        ticket.refresh_from_db()
        assert ticket.status == from_status
        assert ticket.version == 1
        assert ticket.transitions.count() == 0


def test_a_move_that_is_not_in_the_workflow_is_refused_for_everyone(people, ticket):
    with pytest.raises(ApplicationError) as error:
        ticket_move(ticket_id=ticket.pk, actor=people["admin"], to_status="launched")

    assert error.value.status_code == 400
    assert error.value.errors == {"to_status": ["Not a next state of this ticket."]}
    ticket.refresh_from_db()
    assert ticket.status == "proposed"


def test_rejecting_needs_a_reason(people, ticket):
    with pytest.raises(ApplicationError) as error:
        ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="rejected", reason="  ")
    assert error.value.errors == {"reason": ["Say why the requirement is rejected."]}

    ticket = ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="rejected", reason="Duplicate of REQ-1")
    assert ticket.rejection_reason == "Duplicate of REQ-1"


def test_ready_to_launch_needs_an_approved_plan(people):
    ticket = _ticket_in("testing", people)

    with pytest.raises(ApplicationError) as error:
        ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="ready_to_launch")

    assert error.value.code == "gate"
    assert error.value.errors == {"to_status": ["Ready to launch needs an approved tracking plan (打點) first."]}
    ticket.refresh_from_db()
    assert ticket.status == "testing"


def test_concluding_needs_an_analysis_an_outcome_and_a_summary(people):
    ticket = _ticket_in("analysing", people)

    with pytest.raises(ApplicationError) as error:
        ticket_move(ticket_id=ticket.pk, actor=people["analyst"], to_status="concluded", outcome="great")

    assert error.value.errors == {"to_status": ["Concluding needs an impact analysis first."],
                                  "outcome": ["Choose success, neutral or failure."],
                                  "analysis_summary": ["Summarise the analysis."]}
    ticket.refresh_from_db()
    assert ticket.status == "analysing"


def test_cancel_from_any_open_state_but_not_from_a_closed_one(people):
    for state in ["proposed", "testing", "launched", "analysing"]:
        ticket = _ticket_in(state, people)
        assert ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="cancelled").status == "cancelled"
    closed = _ticket_in("concluded", people)
    with pytest.raises(ApplicationError):
        ticket_move(ticket_id=closed.pk, actor=people["pm"], to_status="cancelled")


# Edits and the version check


def test_edit_records_each_field_before_and_after(people, ticket):
    ticket = ticket_update(ticket_id=ticket.pk, actor=people["pm"], version=1, title="Coupon pack v2", priority=4,
                           labels=["growth", "coupon", "growth"], due_date=None)

    assert ticket.version == 2
    changes = list(TicketChange.objects.filter(ticket=ticket).values_list("field", "before", "after",
                                                                          "actor__username"))
    assert changes == [("title", "New-user coupon pack", "Coupon pack v2", "pm"), ("priority", 2, 4, "pm"),
                       ("labels", [], ["coupon", "growth"], "pm")]


def test_two_people_saving_the_same_version_the_second_gets_a_conflict(people, ticket):
    ticket_update(ticket_id=ticket.pk, actor=people["pm"], version=1, title="PM's title")

    with pytest.raises(ApplicationError) as error:
        ticket_update(ticket_id=ticket.pk, actor=people["user_ops"], version=1, title="Ops' title")

    assert error.value.status_code == 409
    assert error.value.code == "conflict"
    assert "changed by someone else" in error.value.message
    ticket.refresh_from_db()
    assert ticket.title == "PM's title"
    assert ticket.version == 2


def test_a_stale_move_is_a_conflict_too(people, ticket):
    ticket_update(ticket_id=ticket.pk, actor=people["pm"], version=1, priority=3)

    with pytest.raises(ApplicationError) as error:
        ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="triaged", version=1)

    assert error.value.status_code == 409
    ticket.refresh_from_db()
    assert ticket.status == "proposed"


def test_fields_outside_the_editable_set_are_refused(people, ticket):
    with pytest.raises(ApplicationError) as error:
        ticket_update(ticket_id=ticket.pk, actor=people["pm"], version=1, status="launched")

    assert error.value.errors == {"status": ["Not editable."]}


# Comments, mentions, watchers, notifications


def test_a_mention_notifies_and_subscribes_the_person_and_mails_them(people, ticket,
                                                                     django_capture_on_commit_callbacks):
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        comment = ticket_comment_add(ticket_id=ticket.pk, author=people["product_ops"],
                                     body="@analyst can you size this? cc @nobody")

    assert list(comment.mentions.values_list("username", flat=True)) == ["analyst"]
    assert set(ticket.watchers.values_list("username", flat=True)) == {"user_ops", "pm", "product_ops", "analyst"}
    notes = sorted(Notification.objects.values_list("recipient__username", "message"))
    key = ticket.key
    assert notes == [("analyst", f"product_ops mentioned you on {key}"), ("pm", f"product_ops commented on {key}"),
                     ("user_ops", f"product_ops commented on {key}")]
    assert sorted(message.to[0] for message in mail.outbox) == ["analyst@example.com", "pm@example.com",
                                                                "user_ops@example.com"]


def test_an_empty_comment_is_refused(people, ticket):
    with pytest.raises(ApplicationError) as error:
        ticket_comment_add(ticket_id=ticket.pk, author=people["pm"], body="  ")

    assert error.value.errors == {"body": ["Write something."]}


def test_watch_and_unwatch(people, ticket):
    ticket_watch(ticket_id=ticket.pk, user=people["merchant_ops"], watching=True)
    assert ticket.watchers.filter(username="merchant_ops").exists()

    ticket_watch(ticket_id=ticket.pk, user=people["merchant_ops"], watching=False)
    assert not ticket.watchers.filter(username="merchant_ops").exists()


def test_movers_do_not_notify_themselves(people, ticket):
    Notification.objects.all().delete()

    ticket_move(ticket_id=ticket.pk, actor=people["pm"], to_status="triaged")

    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["user_ops"]


# Attachments


def test_attachment_is_stored_when_small_and_of_a_known_type(people, ticket, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    attachment = ticket_attachment_add(ticket_id=ticket.pk, user=people["pm"],
                                       upload=SimpleUploadedFile("mock.png", b"\x89PNG\r\n\x1a\nrest"))

    assert (attachment.name, attachment.size, attachment.content_type) == ("mock.png", 12, "image/png")
    assert TicketChange.objects.filter(ticket=ticket, field="attachments").count() == 1


@pytest.mark.parametrize(("name", "content", "status", "message"), [
    ("run.exe", b"MZ", 400, "This type of file is not accepted."),
    ("fake.png", b"<html>", 400, "The file's content does not match its type."),
    ("big.txt", b"a" * (5 * 1024 * 1024 + 1), 413, "The file is too large."),
])
def test_attachment_refused(people, ticket, settings, tmp_path, name, content, status, message):
    settings.MEDIA_ROOT = tmp_path

    with pytest.raises(ApplicationError) as error:
        ticket_attachment_add(ticket_id=ticket.pk, user=people["pm"], upload=SimpleUploadedFile(name, content))

    assert (error.value.status_code, error.value.message) == (status, message)
    assert ticket.attachments.count() == 0


# Iterations


def test_a_concluded_ticket_spawns_its_next_iteration(people):
    parent = _ticket_in("concluded", people)

    child = ticket_iterate(ticket_id=parent.pk, actor=people["product_ops"], title="Coupon pack, round 2")

    assert child.parent_id == parent.pk
    assert child.status == "proposed"
    assert child.kind == "improvement"
    with pytest.raises(ApplicationError) as error:
        ticket_iterate(ticket_id=child.pk, actor=people["product_ops"], title="too early")
    assert error.value.errors == {"status": ["Conclude the ticket first."]}
    with pytest.raises(ApplicationError) as error:
        ticket_iterate(ticket_id=parent.pk, actor=people["analyst"], title="not my call")
    assert error.value.status_code == 403
    assert parent.iterations.count() == 1
