"""Guessing is throttled: the login page, /admin/ and the token endpoint lock a username out from one address after
LOGIN_FAILURE_LIMIT failures (django-axes), on the pinned clock; API tokens expire, die with a password change and
are revoked by their owner.

Before 2026-12: 100 wrong passwords then the right one logged in, on /login/ and /admin/login/; the token endpoint
keyed its throttle on the whole X-Forwarded-For header, so rotating it gave unlimited guesses; tokens never expired.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from ops_platform.accounts.lockout import client_ip
from ops_platform.accounts.models import ApiToken
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
SUMMARY_URL = "/api/v1/dashboard/summary/"
LIMIT = 5  # LOGIN_FAILURE_LIMIT's default


def _login_page(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _token(username, password, **extra):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_login_page_locks_out_after_the_limit_even_with_the_right_password(client, make_staff):
    make_staff(Role.PM, username="pat")
    for _ in range(LIMIT - 1):
        assert _login_page(client, "pat", "wrong").status_code == 200  # the form again, with its error

    locked = _login_page(client, "pat", "wrong")
    right = _login_page(client, "pat", PASSWORD)

    assert locked.status_code == 429
    assert right.status_code == 429
    assert ("Too many failed logins for this account from your address. Try again in 15 minutes"
            in right.content.decode())
    assert right["Retry-After"] == "900"
    assert not _logged_in(client)


def test_the_lockout_message_is_in_the_readers_language(client, make_staff):
    make_staff(Role.PM, username="pat")
    for _ in range(LIMIT):
        _login_page(client, "pat", "wrong")

    response = _login_page(client, "pat", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_a_lockout_is_per_username_and_address(client, make_staff):
    make_staff(Role.PM, username="pat")
    make_staff(Role.PM, username="sam")
    for _ in range(LIMIT):
        _login_page(client, "pat", "wrong")

    other_user = _login_page(client, "sam", PASSWORD)
    assert other_user.status_code == 302
    client.post("/logout/")
    other_address = _login_page(client, "pat", PASSWORD, REMOTE_ADDR="10.1.2.3")
    assert other_address.status_code == 302


def test_the_lockout_ends_after_the_cool_off_on_the_pinned_clock(client, make_staff, today_is):
    make_staff(Role.PM, username="pat")
    for _ in range(LIMIT):
        _login_page(client, "pat", "wrong")
    assert _login_page(client, "pat", PASSWORD).status_code == 429

    today_is(timezone.now() + timedelta(minutes=14))
    assert _login_page(client, "pat", PASSWORD).status_code == 429
    today_is(timezone.now() + timedelta(minutes=2))
    response = _login_page(client, "pat", PASSWORD)

    assert response.status_code == 302
    assert _logged_in(client)


def test_a_success_before_the_limit_starts_the_count_again(client, make_staff):
    make_staff(Role.PM, username="pat")
    for _ in range(LIMIT - 1):
        _login_page(client, "pat", "wrong")
    assert _login_page(client, "pat", PASSWORD).status_code == 302
    client.post("/logout/")

    for _ in range(LIMIT - 1):
        _login_page(client, "pat", "wrong")

    assert _login_page(client, "pat", PASSWORD).status_code == 302


def test_an_administrator_unlocks_in_the_admin(client, make_staff):
    make_staff(Role.PM, username="pat")
    for _ in range(LIMIT):
        _login_page(client, "pat", "wrong")
    attempt = AccessAttempt.objects.get(username="pat")
    admin = APIClient()
    admin.force_login(make_staff(Role.ADMIN))

    listed = admin.get("/admin/axes/accessattempt/")
    deleted = admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk],
                                                        "post": "yes"})

    assert "pat" in listed.content.decode()
    assert deleted.status_code == 302
    assert _login_page(client, "pat", PASSWORD).status_code == 302


def test_admin_login_locks_out_too(client, make_staff):
    make_staff(Role.ADMIN, username="boss")
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "boss", "password": "wrong"})

    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": PASSWORD})

    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302  # still the admin's login page


def test_token_endpoint_locks_out_and_a_forged_forwarded_for_changes_nothing(make_staff):
    make_staff(Role.ANALYST, username="ana")
    answers = [_token("ana", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(LIMIT)]

    response = _token("ana", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert answers == [400] * (LIMIT - 1) + [429]  # the failure that reaches the limit is answered with the lockout
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert response.json()["message"].startswith("Too many failed logins")
    assert "token" not in response.json()
    assert not ApiToken.objects.exists()


def test_token_guessing_across_usernames_is_throttled_per_address(db, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "login": "10/min"})
    answers = [_token(f"user{n}", "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(12)]

    assert answers[:10] == [400] * 10
    assert answers[10:] == [429, 429]


def test_client_ip_honours_num_proxies(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1", REMOTE_ADDR="10.0.0.2")

    assert client_ip(request) == "10.0.0.2"  # NUM_PROXIES = 0: no header is trusted
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_ip(request) == "10.0.0.1"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    assert client_ip(request) == "203.0.113.9"


# API tokens


def test_a_token_expires_after_its_ttl(make_staff, today_is):
    make_staff(Role.PM, username="pat")
    token = _token("pat", PASSWORD).json()["token"]

    today_is(timezone.now() + timedelta(days=29, hours=23))
    assert APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    today_is(timezone.now() + timedelta(hours=2))
    expired = APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {token}")

    assert expired.status_code == 401
    assert expired.json()["message"] == "This token has expired. Ask for a new one at POST /api/v1/auth/token/."


def test_the_ttl_is_configurable(make_staff, settings):
    settings.API_TOKEN_TTL_DAYS = 2
    make_staff(Role.PM, username="pat")

    body = _token("pat", PASSWORD).json()

    assert body["expires_at"].startswith("2026-11-27T10:00")


def test_a_password_change_voids_the_tokens(make_staff):
    staff = make_staff(Role.PM, username="pat")
    token = _token("pat", PASSWORD).json()["token"]

    staff.set_password("a-new-pass-456")
    staff.save()
    response = APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 401
    assert response.json()["message"].startswith("The password changed since this token was issued.")
    assert APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {_token('pat', 'a-new-pass-456').json()['token']}"
                           ).status_code == 200


def test_an_owner_revokes_their_token_through_the_api(make_staff):
    make_staff(Role.PM, username="pat")
    body = _token("pat", PASSWORD).json()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {body['token']}")

    listed = client.get("/api/v1/auth/tokens/").json()
    revoked = client.post(f"/api/v1/auth/tokens/{body['id']}/revoke/")
    after = client.get(SUMMARY_URL)

    assert [(t["id"], t["current"], t["revoked_at"]) for t in listed] == [(body["id"], True, None)]
    assert "token" not in listed[0] and listed[0]["prefix"] == body["token"][:12]
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert after.status_code == 401
    assert after.json()["message"] == "This token has been revoked. Ask for a new one at POST /api/v1/auth/token/."


def test_nobody_revokes_someone_elses_token(make_staff):
    make_staff(Role.PM, username="pat")
    pat = _token("pat", PASSWORD).json()
    intruder = APIClient()
    intruder.force_authenticate(make_staff(Role.ADMIN))

    response = intruder.post(f"/api/v1/auth/tokens/{pat['id']}/revoke/")

    assert response.status_code == 404
    assert APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {pat['token']}").status_code == 200


def test_the_tokens_page_makes_lists_and_revokes(client, make_staff):
    staff = make_staff(Role.USER_OPS, username="uo")
    client.force_login(staff)

    made = client.post("/account/tokens/", {"name": "nightly script"})
    secret = made.context["new_secret"]
    token = ApiToken.objects.get(user=staff)
    works = APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {secret}").status_code
    revoked = client.post(f"/account/tokens/{token.pk}/revoke/")
    page = client.get("/account/tokens/")

    assert made.status_code == 200 and secret.startswith("tok_") and token.name == "nightly script"
    assert token.key_hash != secret and secret not in token.key_hash  # only the hash is kept
    assert works == 200
    assert revoked.status_code == 302
    assert APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401
    assert secret not in page.content.decode()
    assert 'data-testid="revoke-token-' not in page.content.decode()


def test_live_tokens_per_person_are_capped(make_staff, settings):
    settings.API_TOKEN_MAX_ACTIVE = 3
    make_staff(Role.PM, username="pat")

    secrets_ = [_token("pat", PASSWORD).json()["token"] for _ in range(5)]

    answers = [APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=f"Token {s}").status_code for s in secrets_]
    assert answers == [401, 401, 200, 200, 200]


@pytest.mark.parametrize("header", ["Token ", "Token " + "x" * 5000, "Token tok_\x00"])
def test_malformed_tokens_are_a_401(db, header):
    response = APIClient().get(SUMMARY_URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
