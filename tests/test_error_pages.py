"""The site's error pages: 403, 404 and 500 in the site's layout and the reader's language; JSON under /api/.

DEBUG is off (as in production). The 500 page is rendered with the database out of reach: it must not need it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client, override_settings
from django.urls import include, path

from ops_platform.core.roles import Role


@login_not_required
def _boom(request):
    raise RuntimeError("a bug")


# A urlconf of the site's own plus a page that fails, with the site's handlers.
urlpatterns = [path("boom/", _boom), path("api/v1/boom/", _boom), path("", include("ops_platform.urls"))]
handler403 = "ops_platform.core.errors.permission_denied"
handler404 = "ops_platform.core.errors.page_not_found"
handler500 = "ops_platform.core.errors.server_error"

LANGUAGES = [("en", "Back to the desk"), ("zh-hans", "返回工作台")]


@pytest.mark.parametrize(("language", "back"), LANGUAGES)
@override_settings(DEBUG=False)
def test_unknown_page_is_the_styled_404_in_the_readers_language(client_for, language, back):
    client = client_for(Role.MERCHANT_OPS)
    response = client.get("/merchants/999999999/", headers={"accept-language": language})
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-404"' in body and 'class="topbar"' in body  # the site's layout
    assert back in body
    assert 'action="/merchants/"' in body  # a way to search
    assert f'<html lang="{language}">' in body


@pytest.mark.parametrize(("language", "back"), LANGUAGES)
@override_settings(DEBUG=False)
def test_role_forbidden_page_is_the_styled_403_naming_who_may(client_for, make_staff, language, back):
    make_staff(Role.ADMIN, username="lead", first_name="Lee", last_name="Lead")
    client = client_for(Role.MERCHANT_OPS)  # customer records are for user ops, analysts, admins
    response = client.get("/users/customers/", headers={"accept-language": language})
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-403"' in body and 'class="topbar"' in body
    assert back in body
    roles = body.split('data-testid="error-roles"')[1].split("</p>")[0]
    if language == "en":
        assert "user operations" in roles and "analysts" in roles and "administrators" in roles
        assert "Your roles: merchant operations" in roles
    else:
        assert "用户运营" in roles and "数据分析师" in roles and "管理员" in roles
    assert "Lee Lead" in body.split('data-testid="error-ask"')[1].split("</p>")[0]


@override_settings(DEBUG=False)
def test_a_forbidden_page_with_its_own_reason_shows_it(client_for):
    client = client_for(Role.PM)
    response = client.post("/goals/teams/", {"name": "Night shift"})
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-403"' in body
    assert "Only administrators arrange teams." in body


@pytest.mark.parametrize(("language", "back"), LANGUAGES)
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_server_error_is_the_styled_500_without_the_database(language, back):
    # No db fixture: any query would fail; the page must not need one (nor the session, nor context processors).
    client = Client(raise_request_exception=False)
    response = client.get("/boom/", headers={"accept-language": language})
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-500"' in body and 'class="topbar"' in body
    assert back in body


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_server_error_page_falls_back_to_plain_html_when_its_template_fails(monkeypatch):
    from ops_platform.core import errors

    def broken(name):
        raise RuntimeError("no templates")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_api_errors_stay_json(db, api_client_for):
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"
    response = api_client_for(Role.ANALYST).get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
