"""The API ground every app builds on: tokens, the error format, schema and docs, pagination, throttling,
and the language switcher."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from analytics.models import MetricsRun
from ops_platform.accounts.models import Staff
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
SUMMARY_URL = "/api/v1/dashboard/summary/"
ANON_THROTTLE_KEY = "throttle_anon_127.0.0.1"


@pytest.fixture(autouse=True)
def _fresh_anon_throttle():
    """The token endpoint is throttled per client address; each test starts with a clean history."""
    cache.delete(ANON_THROTTLE_KEY)
    yield
    cache.delete(ANON_THROTTLE_KEY)


def assert_error_format(body: dict) -> None:
    assert set(body) == {"message", "code", "errors"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["code"], str)
    assert isinstance(body["errors"], dict)


# Tokens


def test_token_for_good_credentials(make_staff):
    make_staff(Role.ANALYST, username="ana")

    response = APIClient().post(TOKEN_URL, {"username": "ana", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"token", "id", "expires_at"}  # DESIGN.md: {"token"}, fields only added
    assert response.json()["token"].startswith("tok_") and len(response.json()["token"]) == 47
    assert response.json()["expires_at"].startswith("2026-12-25T10:00")  # 30 days after the pinned now


def test_each_request_issues_its_own_token_and_both_work(make_staff):
    """Tokens are stored hashed, so one cannot be shown twice: a second login gets a second token (revocable on its
    own); before 2026-12 the same plain-text token came back every time and never expired."""
    make_staff(Role.ANALYST, username="ana")
    client = APIClient()

    first = client.post(TOKEN_URL, {"username": "ana", "password": PASSWORD}, format="json").json()["token"]
    second = client.post(TOKEN_URL, {"username": "ana", "password": PASSWORD}, format="json").json()["token"]

    assert first != second
    for token in (first, second):
        assert APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_token_for_a_bad_password_is_a_400_in_the_error_format(make_staff):
    make_staff(Role.ANALYST, username="ana")

    response = APIClient().post(TOKEN_URL, {"username": "ana", "password": "wrong"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert_error_format(body)
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["non_field_errors"]
    assert body["errors"]["non_field_errors"] == ["Unable to log in with provided credentials."]


def test_token_without_fields_names_each_missing_field(db):
    response = APIClient().post(TOKEN_URL, {}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert_error_format(body)
    assert body["errors"] == {"username": ["This field is required."], "password": ["This field is required."]}


def test_token_for_an_inactive_staff_member_is_refused(make_staff):
    staff = make_staff(Role.ANALYST, username="gone")
    Staff.objects.filter(pk=staff.pk).update(is_active=False)

    response = APIClient().post(TOKEN_URL, {"username": "gone", "password": PASSWORD}, format="json")

    assert response.status_code == 400


def test_token_authenticates_api_requests(make_staff):
    make_staff(Role.PM, username="pat")
    token = APIClient().post(TOKEN_URL, {"username": "pat", "password": PASSWORD}, format="json").json()["token"]
    client = APIClient()

    response = client.get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert {"events", "customers", "merchants", "merchants_live", "open_tickets", "last_run"} <= set(response.json())


def test_an_unknown_token_is_a_401_in_the_error_format(db):
    response = APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert_error_format(body)
    assert body == {"message": "Invalid token.", "code": "authentication_failed", "errors": {}}


# Schema and docs


def test_schema_needs_a_login(client, db):
    assert client.get("/api/schema/").status_code == 401


def test_schema_is_openapi_3(client_for):
    client = client_for(Role.ANALYST)

    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Ops Platform API"
    assert {"/api/v1/auth/token/", "/api/v1/dashboard/summary/", "/api/v1/analytics/metrics-runs/"} <= set(
        schema["paths"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_schema_default_format_is_yaml(client_for):
    response = client_for(Role.PM).get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_docs_render_for_a_logged_in_user(client_for):
    client = client_for(Role.PM)
    response = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")  # the Swagger UI's start-up, a script file of its own (CSP)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content
    assert b'<script src="/api/docs/?script="></script>' in response.content
    assert script.status_code == 200
    assert b"/api/schema/" in script.content


def test_docs_load_the_swagger_ui_from_this_sites_static_files(client_for):
    """drf-spectacular-sidecar: no CDN in the page, and the page keeps the site's policy (no exception for it)."""
    from django.contrib.staticfiles import finders

    client = client_for(Role.PM)
    response = client.get("/api/docs/")
    page = response.content.decode()
    policy = response["Content-Security-Policy"]

    assert "cdn" not in page.lower() and "https://" not in page.replace("https://swagger.io", "")
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"/static/drf_spectacular_sidecar/swagger-ui-dist/{name}" in page
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}")
    script_src = policy.split("script-src")[1].split(";")[0]
    assert script_src.split() == ["'self'"]
    assert policy == client.get("/account/tokens/")["Content-Security-Policy"]  # the same policy as any page


# Pagination


def test_metrics_runs_are_paginated(api_client_for):
    today = timezone.localdate()
    for days_ago in range(1, 4):
        day = today - timedelta(days=days_ago)
        MetricsRun.objects.create(date_from=day, date_to=day, status=MetricsRun.Status.DONE)
    client = api_client_for(Role.USER_OPS)

    first = client.get("/api/v1/analytics/metrics-runs/?page_size=2").json()
    second = client.get(first["next"]).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"].endswith("/api/v1/analytics/metrics-runs/?page=2&page_size=2")
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert {row["id"] for row in first["results"] + second["results"]} == set(
        MetricsRun.objects.values_list("id", flat=True))


def test_a_page_past_the_end_is_a_404_in_the_error_format(api_client_for):
    response = api_client_for(Role.USER_OPS).get("/api/v1/analytics/metrics-runs/?page=9")

    assert response.status_code == 404
    assert_error_format(response.json())


# Throttling


def test_throttling_is_configured(settings):
    assert "rest_framework.throttling.AnonRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]
    assert "rest_framework.throttling.UserRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]
    assert {"anon", "user", "ingest"} <= set(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])


def test_token_endpoint_is_throttled(db, monkeypatch):
    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", "2/min")
    assert AnonRateThrottle.THROTTLE_RATES is api_settings.DEFAULT_THROTTLE_RATES
    client = APIClient()

    answers = [client.post(TOKEN_URL, {"username": "x", "password": "y"}, format="json") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [400, 400, 429]
    body = answers[2].json()
    assert_error_format(body)
    assert body["code"] == "throttled"
    assert int(answers[2]["Retry-After"]) > 0


# The exception handler, through tiny views mounted only for these tests


class ApplicationErrorApi(APIView):
    def get(self, request):
        raise ApplicationError("The merchant is already live.", errors={"stage": ["Already live."]},
                               code="already_live")


class ConflictApi(APIView):
    def get(self, request):
        raise ApplicationError("Someone else moved it first.", status_code=409, code="conflict")


class ModelValidationErrorApi(APIView):
    def get(self, request):
        raise DjangoValidationError({"code": ["Merchant code must be unique."], "city": ["Unknown city."]})


class PlainValidationErrorApi(APIView):
    def get(self, request):
        raise DjangoValidationError("The date range is reversed.")


class HealthyApi(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("t/application-error/", ApplicationErrorApi.as_view()),
    path("t/conflict/", ConflictApi.as_view()),
    path("t/model-validation-error/", ModelValidationErrorApi.as_view()),
    path("t/plain-validation-error/", PlainValidationErrorApi.as_view()),
    path("t/healthy/", HealthyApi.as_view()),
    path("", include("ops_platform.urls")),
]


@pytest.mark.urls("tests.test_api_ground")
def test_application_error_becomes_a_400(api_client_for):
    response = api_client_for(Role.MERCHANT_OPS).get("/t/application-error/")

    assert response.status_code == 400
    assert response.json() == {"message": "The merchant is already live.", "code": "already_live",
                               "errors": {"stage": ["Already live."]}}


@pytest.mark.urls("tests.test_api_ground")
def test_application_error_keeps_its_status(api_client_for):
    response = api_client_for(Role.MERCHANT_OPS).get("/t/conflict/")

    assert response.status_code == 409
    assert response.json() == {"message": "Someone else moved it first.", "code": "conflict", "errors": {}}


@pytest.mark.urls("tests.test_api_ground")
def test_django_validation_error_with_fields_is_a_400_not_a_500(api_client_for):
    response = api_client_for(Role.MERCHANT_OPS).get("/t/model-validation-error/")

    assert response.status_code == 400
    body = response.json()
    assert_error_format(body)
    assert body["errors"] == {"code": ["Merchant code must be unique."], "city": ["Unknown city."]}


@pytest.mark.urls("tests.test_api_ground")
def test_django_validation_error_without_fields_is_a_400_not_a_500(api_client_for):
    response = api_client_for(Role.MERCHANT_OPS).get("/t/plain-validation-error/")

    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": ["The date range is reversed."]}


@pytest.mark.urls("tests.test_api_ground")
def test_the_test_urlconf_still_needs_a_login(db):
    response = APIClient().get("/t/healthy/")

    assert response.status_code == 401


# Language switcher


def test_switching_language_is_saved_on_the_account_and_used_by_the_dashboard(make_staff, client):
    staff = make_staff(Role.ANALYST)
    client.force_login(staff)

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    staff.refresh_from_db()
    assert staff.language == "zh-hans"
    page = client.get("/")
    assert page.status_code == 200
    assert b'<html lang="zh-hans">' in page.content


def test_saved_language_wins_over_the_browser(make_staff, client):
    client.force_login(make_staff(Role.ANALYST, language="zh-hant"))

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert b'<html lang="zh-hant">' in page.content


def test_without_a_saved_language_the_browser_decides(make_staff, client):
    client.force_login(make_staff(Role.ANALYST))

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    assert b'<html lang="zh-hans">' in page.content


@pytest.mark.parametrize("language", ["klingon", "", "de"])
def test_an_invalid_language_is_ignored(make_staff, client, language):
    staff = make_staff(Role.ANALYST, language="zh-hant")
    client.force_login(staff)

    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    staff.refresh_from_db()
    assert staff.language == "zh-hant"


def test_switcher_does_not_redirect_off_site(make_staff, client):
    client.force_login(make_staff(Role.ANALYST))

    for language in ("zh-hans", "nope"):
        response = client.post("/i18n/setlang/", {"language": language, "next": "https://evil.example.com/"})
        assert response.status_code == 302
        assert response["Location"] == "/"


def test_switcher_works_before_login(client, db):
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert b'<html lang="zh-hant">' in client.get("/login/").content


def test_switcher_refuses_get(client, db):
    assert client.get("/i18n/setlang/?language=zh-hans").status_code == 405


def test_summary_counts_are_shared_for_a_few_seconds(api_client_for, django_assert_max_num_queries):
    """Everyone reads the same totals, so they are computed once per ``CACHE_SECONDS``, not once per request."""
    from analytics.services.loading import events_load
    from ops_platform.dashboard import apis
    from tests.factories import event_row

    client = api_client_for(Role.USER_OPS)
    events_load([event_row("visit", "a", timezone.now())])
    assert client.get(SUMMARY_URL).json()["events"] == 1

    events_load([event_row("visit", "b", timezone.now())])
    with django_assert_max_num_queries(3):  # the user and their role only: the figures come from the cache
        assert client.get(SUMMARY_URL).json()["events"] == 1
    cache.delete(apis.CACHE_KEY)  # as when CACHE_SECONDS have passed
    assert client.get(SUMMARY_URL).json() | {"last_run": None} == {
        "events": 2, "customers": 2, "merchants": 0, "merchants_live": 0, "open_tickets": 0, "last_run": None}
