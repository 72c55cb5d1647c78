"""Ticket notifications are worded in the reader's language (issue 17): stored as a code and figures, never as the
sentence of whoever acted; each e-mail in its recipient's language; old English rows read back by the migration."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core import mail
from django.utils import translation

from products.models import Notification
from products.services.tickets import ticket_comment_add, ticket_update

pytestmark = pytest.mark.django_db

migration = importlib.import_module("products.migrations.0004_notification_code_params")


def test_a_notification_made_in_english_reads_in_chinese(people, ticket, django_capture_on_commit_callbacks):
    people["pm"].language = "zh-hans"
    people["pm"].save(update_fields=["language"])
    Notification.objects.all().delete()

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):  # the author reads English
        ticket_update(ticket_id=ticket.pk, actor=people["user_ops"], version=ticket.version,
                      title="Coupon pack for new users")

    note = Notification.objects.get(recipient=people["pm"])
    assert (note.code, note.params) == ("changed", {"who": "user_ops", "fields": ["title"], "key": ticket.key})
    assert note.message == f"user_ops changed title on {ticket.key}"  # the site's language, for scripts
    with translation.override("zh-hans"):
        assert note.text == f"user_ops 修改了 {ticket.key} 的 标题"
    with translation.override("en"):
        assert note.text == f"user_ops changed title on {ticket.key}"
    (message,) = [m for m in mail.outbox if m.to == ["pm@example.com"]]
    assert message.body == f"user_ops 修改了 {ticket.key} 的 标题"  # the recipient's language, not the author's


def test_the_notifications_page_words_each_note_for_its_reader(people, ticket, client):
    Notification.objects.all().delete()
    ticket_comment_add(ticket_id=ticket.pk, author=people["user_ops"], body="ping")
    people["pm"].language = "zh-hans"
    people["pm"].save(update_fields=["language"])
    client.force_login(people["pm"])

    html = client.get("/products/notifications/").content.decode()

    assert f"user_ops 评论了 {ticket.key}" in html
    assert "commented on" not in html


def test_the_migration_reads_english_rows_back_into_codes(people, ticket):
    Notification.objects.all().delete()
    rows = {
        "moved": f"pm moved {ticket.key} from proposed to triaged",
        "not_a_status": f"pm moved {ticket.key} from somewhere to elsewhere",
        "plan_reviewed": f"Tracking plan v2 of {ticket.key}: approved",
        "feedback_more": f"3 more asked for {ticket.key} (7 in all)",
        "chinese": f"pm 评论了 {ticket.key}",
    }
    for text in rows.values():
        Notification.objects.create(recipient=people["pm"], ticket=ticket, message=text)

    migration.notifications_coded(apps, None)

    coded = {note.message: (note.code, note.params) for note in Notification.objects.all()}
    assert coded[rows["feedback_more"]] == ("feedback_more", {"n": 3, "key": ticket.key, "total": 7})
    assert coded[rows["chinese"]] == ("", {})  # not English: kept as written
    assert coded[rows["moved"]] == ("moved", {"who": "pm", "key": ticket.key, "from": "proposed", "to": "triaged"})
    assert coded[rows["not_a_status"]] == ("", {})  # a label that is no status: kept as written
    assert coded[rows["plan_reviewed"]] == ("plan_reviewed", {"v": 2, "key": ticket.key, "status": "approved"})
