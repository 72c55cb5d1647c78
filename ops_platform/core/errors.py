"""The site's error pages (403, 404, 500): in the site's layout and the reader's language, saying what to do next.

``ops_platform/urls.py`` names them as handler403/404/500. Under ``/api/`` they answer JSON in the API's error format
(``{"message", "code", "errors"}``, see core/exceptions.py) instead of a page.

The 500 page is rendered without the request (so no context processor runs: nothing that reads the database or the
session) and, should even that fail, falls back to a plain page that needs no template at all.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.html import escape
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import requires_csrf_token

from ops_platform.core.roles import PERMISSIONS, Action, Role, can, roles_of

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

ROLE_LABELS = {
    Role.MERCHANT_OPS: _("merchant operations"),
    Role.USER_OPS: _("user operations"),
    Role.PRODUCT_OPS: _("product operations"),
    Role.PM: _("product managers"),
    Role.ANALYST: _("analysts"),
    Role.ADMIN: _("administrators"),
}

# The message role_required raises: the page says it better (which roles may, whom to ask).
_GENERIC_ROLE_MESSAGES = {"Your role does not allow this page.", "Your role does not allow this action."}


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _api_error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"message": message, "code": code, "errors": {}}, status=status)


def _view_rule(request) -> tuple[str | None, str]:
    """The (area, action) the page's ``role_required`` asks for, or (None, "") when it asks for none."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None, ""
    return getattr(match.func, "role_area", None), getattr(match.func, "role_action", None) or Action.VIEW


def _administrators(limit: int = 3) -> list[str]:
    """A few administrators to ask, by name."""
    staff = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN), is_active=True)
    names = []
    for person in staff.distinct().order_by("last_name", "first_name", "username")[:limit]:
        names.append(person.get_full_name() or person.username)
    return names


@requires_csrf_token
def permission_denied(request, exception=None):
    if _is_api(request):
        return _api_error(gettext("You do not have permission to perform this action."), "permission_denied", 403)
    user = getattr(request, "user", None)
    area, action = _view_rule(request)
    allowed_roles, reason = [], ""
    if area is not None and user is not None and not can(user, area, action):
        allowed_roles = [ROLE_LABELS[role] for role in Role if role in PERMISSIONS.get(area, {}).get(action, ())]
    message = str(exception.args[0]) if exception is not None and exception.args and exception.args[0] else ""
    if message and message not in _GENERIC_ROLE_MESSAGES:
        reason = message
    context = {
        "reason": reason,
        "allowed_roles": allowed_roles,
        "your_roles": [ROLE_LABELS[role] for role in Role if role in roles_of(user)],
        "administrators": _administrators(),
        "request_path": request.path,
    }
    template = loader.get_template("errors/403.html")
    return HttpResponse(template.render(context, request), status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if _is_api(request):
        return _api_error(gettext("Not found."), "not_found", 404)
    template = loader.get_template("errors/404.html")
    return HttpResponse(template.render({"request_path": request.path}, request), status=404)


_FALLBACK_500 = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><h1>{title}</h1><p>{text}</p><p><a href="/">{home}</a></p></body></html>'
)


def server_error(request, *args, **kwargs):
    if _is_api(request):
        return _api_error(gettext("A server error occurred."), "server_error", 500)
    try:
        # No request: no context processor runs, nothing here reads the database or the session.
        body = loader.get_template("errors/500.html").render({"request_path": request.path})
    except Exception:  # the error page must not fail in turn
        logger.exception("The 500 page could not be rendered; answering the plain page")
        body = _FALLBACK_500.format(
            title=escape(gettext("Something went wrong")),
            text=escape(gettext("The server could not answer this page. Try again in a minute; if it keeps "
                                "happening, tell an administrator what you were doing.")),
            home=escape(gettext("Back to the desk")),
        )
    return HttpResponseServerError(body)
