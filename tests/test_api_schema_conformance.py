"""The API answers what its schema says: schemathesis over every operation of /api/schema/ with the checks
``not_a_server_error`` and ``response_schema_conformance``, against the test database seeded with the demo data (so
lists hold objects with their optional fields empty: an unacknowledged alert, a merchant without an owner…).

Bounded so the run stays within about two minutes: a few generated examples per operation, no shrinking. As an
administrator (every operation is allowed) with an ingest key for ingestion. Operations that would end the test's own
access (revoking its token) are left out.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.apps import apps
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ops_platform.accounts.services import api_token_create, staff_create
from ops_platform.core.roles import Role

EXAMPLES_PER_OPERATION = 3
LEFT_OUT = ("/api/v1/auth/tokens/{token_id}/revoke/",)

pytestmark = pytest.mark.django_db  # each operation's writes are rolled back; the seeded data stays for the module


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo data, an administrator's token and an ingest key, committed for the module, removed after it."""
    from analytics.services.keys import ingest_key_create

    with django_db_blocker.unblock():
        # What the migrations wrote (role groups, beat schedules, tier rules…), put back after the flush below, so
        # that tests after this module still find it.
        before = connection.creation.serialize_db_to_string()
        call_command("seed_demo", "--customers", "40", "--days", "7", "--end", "2026-11-24", "--merchants", "12",
                     verbosity=0)
        call_command("compute_alerts", "--date", "2026-11-24", verbosity=0)
        admin = staff_create(username="schema_admin", password="schema-pass-123", roles=[Role.ADMIN])
        _token, raw_token = api_token_create(user=admin, name="schemathesis")
        _key, raw_key = ingest_key_create(name="schemathesis")
        yield {"Authorization": f"Token {raw_token}", "X-Ingest-Key": raw_key}
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
        connection.creation.deserialize_db_from_string(before)
        # The rows came back with their ids; the flush reset the sequences: move them past those ids (as loaddata).
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True)):
                cursor.execute(statement)


def _schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))
    for path in LEFT_OUT:
        raw["paths"].pop(path)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    return schema


@pytest.fixture
def connections_kept():
    """Requests go through Django's WSGI handler, which closes the connection at each request's end: keep it (the
    test's transaction), as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_answers_what_its_schema_says(seeded, connections_kept):
    operations = [result.ok() for result in _schema().get_all_operations()]
    failures = []
    for operation in operations:

        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(headers=seeded)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - every operation's, reported together
            failures.append(f"{operation.label}: {str(failure)[:1500]}")

    assert len(operations) > 150
    assert failures == [], "\n\n".join(failures)


def test_the_schema_declares_nullable_fields_and_the_error_format_on_every_operation():
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True),
                                                       renderer_context={}))
    components = document["components"]["schemas"]

    assert components["Alert"]["properties"]["acknowledged_by"]["nullable"] is True
    assert components["TicketDetailOutput"]["properties"]["owner_pm"]["nullable"] is True
    assert components["Error"]["required"] == ["message", "code", "errors"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status in ("400", "401", "403", "404", "429", "503"):
                assert status in operation["responses"], f"{method.upper()} {path} does not declare {status}"
    assert document["paths"]["/api/v1/alerts/"]["get"]["responses"]["404"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Error"}


def test_an_api_url_no_route_matches_is_a_404_in_the_error_format(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found", "errors": {}}
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
