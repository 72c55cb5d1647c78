"""Ticket attachments are served through an authenticated view (page and API) that asks whether the reader may see
the ticket — never through a public media URL — in the type recorded at upload, shown in the browser only for
images and PDF and downloaded (``Content-Disposition: attachment``) for everything a browser could render as HTML."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from ops_platform.core.roles import Role
from products.services.tickets import ticket_attachment_add, ticket_create

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%%EOF\n"
HTML_IN_TEXT = b"<html><body><script>alert(document.cookie)</script></body></html>"
FILES = {  # name: (content, content type served, shown in the browser?)
    "screen.png": (PNG, "image/png", True),
    "spec.pdf": (PDF, "application/pdf", True),
    "notes.txt": (HTML_IN_TEXT, "text/plain; charset=utf-8", False),
    "readme.md": (b"# Title\n<img src=x onerror=alert(1)>", "text/markdown; charset=utf-8", False),
    "rows.csv": (b"a,b\n1,2\n", "text/csv; charset=utf-8", False),
    "book.xlsx": (b"PK\x03\x04rest", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def attachments(people, ticket):
    return {name: ticket_attachment_add(ticket_id=ticket.pk, user=people["user_ops"],
                                        upload=SimpleUploadedFile(name, content))
            for name, (content, _type, _inline) in FILES.items()}


def page_url(attachment) -> str:
    return f"/products/tickets/{attachment.ticket_id}/attachments/{attachment.pk}/"


def api_url(attachment) -> str:
    return f"/api/v1/products/tickets/{attachment.ticket_id}/attachments/{attachment.pk}/file/"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_that_reads_tickets_gets_each_file_from_the_page_and_the_api(people, attachments, role):
    reader = people[role.value]
    for name, (content, content_type, inline) in FILES.items():
        for response in (page_client(reader).get(page_url(attachments[name])),
                         api_client(reader).get(api_url(attachments[name]))):
            assert response.status_code == 200, (role, name)
            assert body(response) == content
            assert response["Content-Type"] == content_type
            assert response["Content-Disposition"].startswith("inline" if inline else "attachment"), name
            assert f'filename="{name}"' in response["Content-Disposition"]
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "default-src 'none'" in response["Content-Security-Policy"]
            assert "script-src" not in response["Content-Security-Policy"]
            assert response["Cache-Control"] == "private, no-cache"


def test_staff_without_a_role_and_anonymous_visitors_get_nothing(make_staff, attachments):
    nobody = make_staff()  # no role: may not read tickets
    attachment = attachments["notes.txt"]

    assert page_client(nobody).get(page_url(attachment)).status_code == 403
    assert api_client(nobody).get(api_url(attachment)).status_code == 403
    anonymous_page = Client().get(page_url(attachment))
    assert anonymous_page.status_code == 302 and anonymous_page["Location"].startswith("/login/?next=")
    assert APIClient().get(api_url(attachment)).status_code == 401


def test_inactive_staff_get_nothing(people, attachments):
    reader = people["analyst"]
    client = api_client(reader)
    reader.is_active = False
    reader.save()

    assert client.get(api_url(attachments["notes.txt"])).status_code in (401, 403)


def test_an_attachment_is_only_found_under_its_own_ticket(people, ticket, attachments):
    other = ticket_create(requester=people["pm"], title="Another ticket")
    attachment = attachments["spec.pdf"]
    reader = people["merchant_ops"]

    for url in (f"/products/tickets/{other.pk}/attachments/{attachment.pk}/",
                f"/products/tickets/{ticket.pk}/attachments/999999/"):
        assert page_client(reader).get(url).status_code == 404
    wrong_ticket = api_client(reader).get(f"/api/v1/products/tickets/{other.pk}/attachments/{attachment.pk}/file/")
    assert wrong_ticket.status_code == 404 and wrong_ticket.json()["code"] == "not_found"


def test_a_file_gone_from_storage_is_a_404_not_a_500(people, attachments):
    attachment = attachments["rows.csv"]
    attachment.file.storage.delete(attachment.file.name)

    assert page_client(people["pm"]).get(page_url(attachment)).status_code == 404
    gone = api_client(people["pm"]).get(api_url(attachment))
    assert gone.status_code == 404 and gone["Content-Type"] == "application/json"


def test_the_api_serves_the_file_whatever_the_client_accepts(people, attachments):
    client = api_client(people["product_ops"])

    for accept in ("image/png", "application/octet-stream", "*/*", "application/json"):
        response = client.get(api_url(attachments["screen.png"]), HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert body(response) == PNG


def test_a_non_ascii_name_is_sent_encoded(people, ticket):
    attachment = ticket_attachment_add(ticket_id=ticket.pk, user=people["user_ops"],
                                       upload=SimpleUploadedFile("需求说明.txt", "你好".encode()))

    response = page_client(people["pm"]).get(page_url(attachment))

    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E9%9C%80%E6%B1%82%E8%AF%B4%E6%98%8E.txt"
    assert body(response).decode() == "你好"


def test_links_point_to_the_view_and_media_is_never_public(people, ticket, attachments):
    client = page_client(people["analyst"])
    page = client.get(f"/products/tickets/{ticket.pk}/").content.decode()
    listed = api_client(people["analyst"]).get(f"/api/v1/products/tickets/{ticket.pk}/attachments/").json()

    for attachment in attachments.values():
        assert f'href="{page_url(attachment)}"' in page
    assert "/media/" not in page
    assert [item["url"] for item in listed] == [api_url(attachment) for attachment in attachments.values()]
    assert client.get("/media/" + attachments["notes.txt"].file.name).status_code == 404
