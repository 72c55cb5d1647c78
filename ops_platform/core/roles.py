"""The one place that says what each staff role may see and change.

Pages (``role_required``) and the API (``RolePermission``) both ask ``can()``; nothing else decides.
This module imports no app.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MERCHANT_OPS = "merchant_ops"
    USER_OPS = "user_ops"
    PRODUCT_OPS = "product_ops"
    PM = "pm"
    ANALYST = "analyst"
    ADMIN = "admin"


class Area(StrEnum):
    DASHBOARD = "dashboard"
    ANALYTICS = "analytics"
    METRICS_RUNS = "metrics_runs"
    INGEST_KEYS = "ingest_keys"
    MERCHANTS = "merchants"
    CUSTOMERS = "customers"
    TICKETS = "tickets"
    ADMIN_SITE = "admin_site"


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"


ALL_ROLES = frozenset(Role)

# area -> action -> roles allowed
PERMISSIONS: dict[Area, dict[Action, frozenset[Role]]] = {
    Area.DASHBOARD: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset()},
    # Funnels, retention, AARRR: everyone reads; running computations is for analysts and admins.
    Area.ANALYTICS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    Area.METRICS_RUNS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ANALYST, Role.ADMIN})},
    # Ingest keys: analysts and ops read the list (names, prefixes, last use; never a secret), only
    # administrators create and revoke keys.
    Area.INGEST_KEYS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.ADMIN})},
    # Merchant ops manage merchants; everyone else reads.
    Area.MERCHANTS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.MERCHANT_OPS, Role.ADMIN})},
    # User ops manage customers, segments and coupons; everyone else reads.
    Area.CUSTOMERS: {Action.VIEW: ALL_ROLES, Action.CHANGE: frozenset({Role.USER_OPS, Role.ADMIN})},
    # Every role can raise and discuss requirement tickets; workflow moves are finer-grained.
    Area.TICKETS: {Action.VIEW: ALL_ROLES, Action.CHANGE: ALL_ROLES},
    Area.ADMIN_SITE: {Action.VIEW: frozenset({Role.ADMIN}), Action.CHANGE: frozenset({Role.ADMIN})},
}


def roles_of(user) -> frozenset[Role]:
    """The roles of a staff user (a superuser holds every role). Cached on the user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_ops_roles", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = ALL_ROLES
    else:
        names = set(user.groups.values_list("name", flat=True))
        roles = frozenset(role for role in Role if role.value in names)
    user._ops_roles = roles
    return roles


def can(user, area: Area | str, action: Action | str = Action.VIEW) -> bool:
    allowed = PERMISSIONS[Area(area)][Action(action)]
    return bool(roles_of(user) & allowed)
