"""Guessing passwords: the login page, /admin/ and the token endpoint lock a username out from one address after
``LOGIN_FAILURE_LIMIT`` failures in a row (django-axes, per username and address), for ``LOGIN_LOCKOUT_MINUTES``.
An administrator unlocks earlier in /admin/ (Axes → Access attempts: delete the row) or with
``manage.py axes_reset_username NAME``.

The address is the one DRF's throttles use (``NUM_PROXIES``): behind N proxies, the N-th address from the right of
``X-Forwarded-For``; with 0 (the default), the connection's own address, so a forged header changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str:
    """The caller's address, exactly as the API throttles see it (``REST_FRAMEWORK["NUM_PROXIES"]``)."""
    return BaseThrottle().get_ident(request) or ""


def lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return _("Too many failed logins for this account from your address. Try again in %(minutes)d minutes, or ask "
             "an administrator to unlock it.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets: the login page with the reason (pages, /admin/), or the API's error format; 429
    with Retry-After either way."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": message, "code": "locked_out", "errors": {}}, status=429)
    else:
        response = render(request, "registration/login.html", {"locked_out": message, "next": ""}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
