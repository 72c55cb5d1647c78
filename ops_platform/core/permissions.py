from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ops_platform.core.roles import Action, Area, can


class RolePermission(BasePermission):
    """Authenticated, and the view's ``role_area`` allows the method (safe methods read, others change).

    A view without ``role_area`` needs only a login; views that change data must set it.
    """

    message = "Your role does not allow this action. Ask an administrator for access."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        area = getattr(view, "role_area", None)
        if area is None:
            return True
        action = Action.VIEW if request.method in SAFE_METHODS else Action.CHANGE
        action = getattr(view, "role_action", None) or action
        return can(user, area, action)


def role_required(area: Area, action: Action = Action.VIEW):
    """Page decorator: login is enforced by middleware; this checks the role (403 otherwise)."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not can(request.user, area, action):
                raise PermissionDenied("Your role does not allow this page.")
            return view_func(request, *args, **kwargs)

        wrapper.role_area = area
        wrapper.role_action = action
        return wrapper

    return decorator
