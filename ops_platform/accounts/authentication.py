"""How the API knows a staff member from a token: ``Authorization: Token <secret>`` (the DESIGN.md contract).

A token is refused (401, with the reason) when unknown, revoked, expired, issued before its owner's last password
change, or its owner is inactive. Tokens live in ``ApiToken`` as SHA-256 only (``accounts.services``).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from ops_platform.accounts.selectors import api_token_get_by_secret


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = api_token_get_by_secret(raw=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = token.user
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token has been revoked. Ask for a new one at "
                                                    "POST /api/v1/auth/token/."))
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(_("This token has expired. Ask for a new one at "
                                                    "POST /api/v1/auth/token/."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if not constant_time_compare(token.password_stamp, user.get_session_auth_hash()):
            raise exceptions.AuthenticationFailed(_("The password changed since this token was issued. Ask for a "
                                                    "new one at POST /api/v1/auth/token/."))
        # DRF imports this class while its own modules load; the services import the API's error type, which imports
        # DRF: import them when a request comes.
        from ops_platform.accounts.services import api_token_touch

        api_token_touch(token=token)
        return user, token
