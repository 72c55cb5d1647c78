"""Ingest keys: services, the create_ingest_key command, the read API and admin-only writes, the page per role."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import Event, IngestKey
from analytics.selectors import ingest_key_list
from analytics.services.keys import ingest_key_create, ingest_key_revoke, ingest_key_touch
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.analytics.conftest import BATCH_URL

EVENT = {"event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T09:30:00+08:00"}
MANAGERS = [Role.ADMIN]
READERS = [role for role in Role if role != Role.ADMIN]


def post_with(raw_key: str, batch: list):
    return APIClient().post(BATCH_URL, {"batch": batch}, format="json", HTTP_X_INGEST_KEY=raw_key)


# Services


def test_create_stores_only_the_hash(make_staff):
    admin = make_staff(Role.ADMIN)

    key, raw_key = ingest_key_create(name="  marketplace  ", created_by=admin)

    key.refresh_from_db()
    assert raw_key.startswith("ik_") and len(raw_key) == 46
    assert key.name == "marketplace"
    assert key.prefix == raw_key[:12]
    assert key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert key.created_by == admin
    assert (key.last_used_at, key.revoked_at) == (None, None)
    assert raw_key not in {str(value) for value in IngestKey.objects.values_list(
        "name", "prefix", "key_hash").get()}


def test_each_key_is_different(db):
    secrets = {ingest_key_create(name=f"k{i}")[1] for i in range(20)}

    assert len(secrets) == 20


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_refuses_a_bad_name(db, name):
    with pytest.raises(ValidationError) as error:
        ingest_key_create(name=name)

    assert list(error.value.message_dict) == ["name"]
    assert IngestKey.objects.count() == 0


def test_revoke_sets_the_time_and_refuses_a_second_time(db):
    key, _ = ingest_key_create(name="k")

    revoked = ingest_key_revoke(key=key)

    assert revoked.revoked_at is not None
    with pytest.raises(ApplicationError, match="already revoked"):
        ingest_key_revoke(key=key)
    key.refresh_from_db()
    assert key.revoked_at == revoked.revoked_at


def test_touch_writes_at_most_once_a_minute(db, django_assert_num_queries):
    key, _ = ingest_key_create(name="k")
    now = timezone.now()

    with django_assert_num_queries(1):
        ingest_key_touch(key=key, now=now)
    with django_assert_num_queries(0):
        ingest_key_touch(key=key, now=now + timedelta(seconds=59))
    with django_assert_num_queries(1):
        ingest_key_touch(key=key, now=now + timedelta(seconds=61))

    key.refresh_from_db()
    assert key.last_used_at == now + timedelta(seconds=61)


def test_list_puts_active_keys_first_in_one_query(make_staff, django_assert_num_queries):
    admin = make_staff(Role.ADMIN)
    old, _ = ingest_key_create(name="old", created_by=admin)
    gone, _ = ingest_key_create(name="gone", created_by=admin)
    new, _ = ingest_key_create(name="new")
    ingest_key_revoke(key=gone)

    with django_assert_num_queries(1):
        keys = ingest_key_list()
        creators = [key.created_by.username if key.created_by else None for key in keys]

    assert [key.name for key in keys] == ["new", "old", "gone"]
    assert creators == [None, admin.username, admin.username]


# The command


def test_command_prints_the_key_alone_on_its_last_line_and_the_key_works(db):
    out = StringIO()

    call_command("create_ingest_key", "marketplace backend", stdout=out)

    raw_key = out.getvalue().rstrip("\n").splitlines()[-1]
    key = IngestKey.objects.get()
    assert raw_key == raw_key.strip() and " " not in raw_key
    assert key.name == "marketplace backend"
    assert key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key not in (key.name, key.prefix, key.key_hash)
    response = post_with(raw_key, [EVENT])
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_command_refuses_a_blank_name(db):
    with pytest.raises(CommandError, match="name"):
        call_command("create_ingest_key", "  ", stdout=StringIO())

    assert IngestKey.objects.count() == 0


# The API


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_lists_keys_without_secrets(api_client_for, role):
    key, raw_key = ingest_key_create(name="marketplace")

    response = api_client_for(role).get("/api/v1/analytics/ingest-keys/")

    assert response.status_code == 200
    assert response.json() == [{"id": key.pk, "name": "marketplace", "prefix": key.prefix,
                                "created_at": response.json()[0]["created_at"], "created_by": None,
                                "last_used_at": None, "revoked_at": None, "active": True}]
    assert raw_key not in response.content.decode()
    assert key.key_hash not in response.content.decode()


def test_admin_creates_a_key_through_the_api_and_it_works(api_client_for):
    response = api_client_for(Role.ADMIN).post("/api/v1/analytics/ingest-keys/create/", {"name": "app"},
                                               format="json")

    assert response.status_code == 201
    body = response.json()
    key = IngestKey.objects.get()
    assert body["ingest_key"]["id"] == key.pk
    assert body["ingest_key"]["name"] == "app"
    assert key.key_hash == hashlib.sha256(body["key"].encode()).hexdigest()
    assert post_with(body["key"], [EVENT]).status_code == 200


def test_create_without_a_name_is_a_400(api_client_for):
    response = api_client_for(Role.ADMIN).post("/api/v1/analytics/ingest-keys/create/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["This field is required."]}
    assert IngestKey.objects.count() == 0


@pytest.mark.parametrize("role", READERS, ids=str)
def test_other_roles_cannot_create_or_revoke_through_the_api(api_client_for, role):
    key, raw_key = ingest_key_create(name="k")
    client = api_client_for(role)

    created = client.post("/api/v1/analytics/ingest-keys/create/", {"name": "mine"}, format="json")
    revoked = client.post(f"/api/v1/analytics/ingest-keys/{key.pk}/revoke/")

    assert (created.status_code, revoked.status_code) == (403, 403)
    assert list(IngestKey.objects.values_list("name", "revoked_at")) == [("k", None)]
    assert post_with(raw_key, [EVENT]).status_code == 200


def test_admin_revokes_a_key_through_the_api_and_it_stops_working(api_client_for):
    key, raw_key = ingest_key_create(name="k")
    client = api_client_for(Role.ADMIN)

    response = client.post(f"/api/v1/analytics/ingest-keys/{key.pk}/revoke/")
    again = client.post(f"/api/v1/analytics/ingest-keys/{key.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert again.status_code == 400
    assert again.json() == {"message": "This key is already revoked.", "code": "already_revoked", "errors": {}}
    assert post_with(raw_key, [EVENT]).status_code == 401
    assert Event.objects.count() == 0


# The page


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_sees_the_list_only_admins_see_actions(client_for, role):
    key, raw_key = ingest_key_create(name="marketplace")
    gone, _ = ingest_key_create(name="old app")
    ingest_key_revoke(key=gone)

    response = client_for(role).get("/analytics/ingest-keys/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "marketplace" in html and "old app" in html
    assert f"{key.prefix}…" in html
    assert "Never" in html and "Revoked" in html
    assert raw_key not in html
    admin = role == Role.ADMIN
    assert ('data-testid="new-key"' in html) is admin
    assert (f'data-testid="revoke-{key.pk}"' in html) is admin
    assert f'data-testid="revoke-{gone.pk}"' not in html


def test_the_nav_links_to_the_page_for_every_role(client_for):
    response = client_for(Role.ANALYST).get("/")

    assert 'href="/analytics/ingest-keys/"' in response.content.decode()


def test_admin_creates_a_key_on_the_page_and_sees_it_once(client_for):
    client = client_for(Role.ADMIN)

    response = client.post("/analytics/ingest-keys/new/", {"name": "marketplace"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw_key = response.context["raw_key"]
    key = IngestKey.objects.get()
    assert key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key in response.content.decode()
    assert raw_key not in client.get("/analytics/ingest-keys/").content.decode()


def test_the_create_form_shows_field_errors(client_for):
    response = client_for(Role.ADMIN).post("/analytics/ingest-keys/new/", {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert IngestKey.objects.count() == 0


def test_admin_revokes_a_key_after_confirming(client_for):
    key, raw_key = ingest_key_create(name="marketplace")
    client = client_for(Role.ADMIN)

    confirm = client.get(f"/analytics/ingest-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is None
    assert "This cannot be undone." in confirm.content.decode()
    response = client.post(f"/analytics/ingest-keys/{key.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/analytics/ingest-keys/", 302)]
    assert "Key “marketplace” revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert post_with(raw_key, [EVENT]).status_code == 401


@pytest.mark.parametrize("role", READERS, ids=str)
def test_other_roles_cannot_create_or_revoke_on_the_page(client_for, role):
    key, raw_key = ingest_key_create(name="marketplace")
    client = client_for(role)

    answers = [client.get("/analytics/ingest-keys/new/").status_code,
               client.post("/analytics/ingest-keys/new/", {"name": "mine"}).status_code,
               client.get(f"/analytics/ingest-keys/{key.pk}/revoke/").status_code,
               client.post(f"/analytics/ingest-keys/{key.pk}/revoke/").status_code]

    assert answers == [403, 403, 403, 403]
    assert list(IngestKey.objects.values_list("name", "revoked_at")) == [("marketplace", None)]
    assert post_with(raw_key, [EVENT]).status_code == 200


# Declared areas and the schema


def test_ingest_endpoints_declare_their_area_and_action():
    from tests.test_roles import ENDPOINTS

    by_path = {endpoint.path: endpoint for endpoint in ENDPOINTS}
    reads = ["/analytics/ingest-keys/", "/api/v1/analytics/ingest-keys/"]
    writes = ["/analytics/ingest-keys/new/", "/analytics/ingest-keys/999999/revoke/",
              "/api/v1/analytics/ingest-keys/create/", "/api/v1/analytics/ingest-keys/999999/revoke/"]

    assert [(by_path[path].area, by_path[path].action) for path in reads] == [("ingest_keys", "view"), (
        "ingest_keys", None)]
    assert {(by_path[path].area, by_path[path].action) for path in writes} == {("ingest_keys", "change")}
    assert by_path["/api/v1/events/batch/"].role_governed is False


def test_the_schema_documents_the_batch_endpoint_and_its_key(api_client_for):
    schema = api_client_for(Role.ANALYST).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert schema["components"]["securitySchemes"]["IngestKey"] == {"type": "apiKey", "in": "header",
                                                                     "name": "X-Ingest-Key"}
    operation = schema["paths"]["/api/v1/events/batch/"]["post"]
    assert {"IngestKey": []} in operation["security"]
    assert "batch" in schema["components"]["schemas"]["IngestBatch"]["properties"]
