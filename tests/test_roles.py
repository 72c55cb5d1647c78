"""The role matrix: every page and endpoint, for anonymous visitors and for each of the six roles.

URL patterns are discovered from the resolver, so the matrix grows as apps add pages. What a role may
do comes from ``ops_platform.core.roles.can()`` and the view's ``role_area`` (``role_action`` when set);
a small hand-written table pins the known answers exactly, so a wrong ``PERMISSIONS`` change is caught
too. Patterns with parameters are filled with placeholder values (an id that does not exist): the role
check runs before the object lookup, so a denied role gets 403 and an allowed one 404. Patterns that
cannot be filled are listed in a warning by ``test_every_pattern_is_swept``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter
from django.urls.exceptions import Resolver404
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings

from analytics.services.metrics import metrics_run_execute
from ops_platform.accounts.middleware import OPEN_PREFIXES
from ops_platform.core.permissions import RolePermission
from ops_platform.core.roles import ALL_ROLES, PERMISSIONS, Action, Area, Role, can, roles_of
from tests.factories import MerchantFactory, TicketFactory, events_create

ANONYMOUS = "anonymous"
PLACEHOLDER_BY_CONVERTER = {
    IntConverter: "999999",
    UUIDConverter: "00000000-0000-0000-0000-000000000000",
    SlugConverter: "does-not-exist",
    StringConverter: "does-not-exist",
    PathConverter: "does-not-exist",
}
# API endpoints that answer without a staff login: they check something else.
OPEN_API_ROUTES = {
    "api/v1/auth/token/": "obtains the token with username and password",
    "api/v1/events/batch/": "ingestion, authenticated by X-Ingest-Key",
}
# Pages that answer without a login besides the OPEN_PREFIXES of the login middleware.
LOGIN_PAGE = "/login/"


@dataclass(frozen=True)
class Endpoint:
    route: str  # as written in the urlconf
    path: str  # what the sweep requests
    name: str
    kind: str  # "page" or "api"
    methods: tuple[str, ...]
    area: Area | None
    action: Action | None
    role_governed: bool  # the view asks can(); False for the open API and DRF views without RolePermission
    extra_permissions: bool  # DRF permission classes besides RolePermission may refuse more

    @property
    def login_exempt(self) -> bool:
        return self.kind == "page" and (
            self.path == LOGIN_PAGE or self.path.startswith(OPEN_PREFIXES)
        )

    def action_for(self, method: str) -> Action:
        if self.action is not None:
            return Action(self.action)
        return Action.VIEW if method in SAFE_METHODS else Action.CHANGE

    def allows(self, role: Role, method: str) -> bool:
        if self.area is None:
            return True
        return role in PERMISSIONS[Area(self.area)][self.action_for(method)]


# Discovery


def _walk(patterns, route_prefix="", name_prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner_namespace = pattern.namespace or namespace
            inner_names = f"{name_prefix}{pattern.namespace}:" if pattern.namespace else name_prefix
            yield from _walk(pattern.url_patterns, route_prefix + str(pattern.pattern), inner_names, inner_namespace)
        elif isinstance(pattern, URLPattern):
            yield route_prefix, pattern, f"{name_prefix}{pattern.name or ''}", namespace


ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _fill(route: str) -> str | None:
    """A concrete path for a route (``path()`` or ``re_path()`` parts), or None when it cannot be filled."""
    from django.urls.converters import get_converters

    converters = get_converters()

    def route_value(match: re.Match) -> str:
        converter = converters.get(match["converter"] or "str")
        value = PLACEHOLDER_BY_CONVERTER.get(type(converter))
        if value is None:
            raise LookupError(match[0])
        return value

    if REGEX_GROUP.search(route) and any(group == "format" for group in REGEX_GROUP.findall(route)):
        return None  # DRF format-suffix duplicate of another pattern
    try:
        path = ROUTE_PARAM.sub(route_value, route)
    except LookupError:
        return None
    path = REGEX_GROUP.sub("999999", path)
    path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    if re.search(r"[()\[\]*+?\\|{}]", path):
        return None
    return "/" + path


def _methods_of(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)  # DRF viewsets
    if actions:
        return tuple(sorted(method.upper() for method in actions))
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return ("GET",)
    methods = [method.upper() for method in view_class.http_method_names
               if method not in {"options", "head"} and hasattr(view_class, method)]
    return tuple(sorted(methods)) or ("GET",)


def discover() -> tuple[list[Endpoint], list[str]]:
    endpoints, unfilled = [], []
    for prefix, pattern, name, namespace in _walk(get_resolver().url_patterns):
        route = prefix + str(pattern.pattern)
        if namespace == "admin" or route.startswith(("static/", "media/", "__debug__/")):
            continue  # the admin site has its own login; see the admin tests below
        path = _fill(route)
        if path is None:
            unfilled.append(route)
            continue
        try:
            match = resolve(path)
        except Resolver404:
            unfilled.append(route)
            continue
        if match.func is not pattern.callback:
            unfilled.append(route)  # the placeholder reached another pattern; do not guess
            continue
        callback = pattern.callback
        view_class = getattr(callback, "cls", None)
        is_api = route.startswith("api/")
        if view_class is not None:
            area = getattr(view_class, "role_area", None)
            action = getattr(view_class, "role_action", None)
            permission_classes = getattr(view_class, "permission_classes", api_settings.DEFAULT_PERMISSION_CLASSES)
            governed = any(isinstance(cls, type) and issubclass(cls, RolePermission) for cls in permission_classes)
            extra = any(not (isinstance(cls, type) and issubclass(cls, RolePermission)) for cls in permission_classes)
        else:
            page_class = getattr(callback, "view_class", None)
            area = getattr(callback, "role_area", None) or getattr(page_class, "role_area", None)
            action = getattr(callback, "role_action", None) or getattr(page_class, "role_action", None)
            governed, extra = True, False
        if route in OPEN_API_ROUTES:
            governed = False
        endpoints.append(Endpoint(
            route=route, path=path, name=name, kind="api" if is_api else "page", methods=_methods_of(callback),
            area=area, action=action, role_governed=governed, extra_permissions=extra,
        ))
    return endpoints, unfilled


ENDPOINTS, UNFILLED = discover()
CASES = [(endpoint, method) for endpoint in ENDPOINTS for method in endpoint.methods]
CASE_IDS = [f"{method} {endpoint.path}" for endpoint, method in CASES]


def request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, data="{}", content_type="application/json")


def is_login_redirect(response) -> bool:
    """The login middleware's answer: to the login page, coming back afterwards (logout goes there without ?next)."""
    return response.status_code == 302 and response["Location"].startswith(f"{LOGIN_PAGE}?next=")


@pytest.fixture
def seeded(db, make_staff):
    """A little of everything, so pages render real rows rather than empty states."""
    owner = make_staff(Role.MERCHANT_OPS, username="seed_owner")
    MerchantFactory.create_batch(2, owner=owner)
    TicketFactory(requester=owner)
    events_create(3)


def test_discovery_finds_the_known_endpoints():
    paths = {endpoint.path for endpoint in ENDPOINTS}

    assert {"/", "/login/", "/logout/", "/i18n/setlang/", "/health/", "/api/v1/auth/token/",
            "/api/v1/dashboard/summary/", "/api/v1/analytics/metrics-runs/", "/api/schema/", "/api/docs/"} <= paths


def test_every_pattern_is_swept():
    """Patterns the sweep could not fill with placeholders are named here, in the warnings summary."""
    swept = len(ENDPOINTS)
    if UNFILLED:
        warnings.warn(f"role matrix: {len(UNFILLED)} URL pattern(s) not swept (cannot fill parameters): "
                      + ", ".join(sorted(UNFILLED)), stacklevel=1)
    assert swept >= 10


def test_every_api_v1_endpoint_is_role_governed_or_known_open():
    ungoverned = [e.route for e in ENDPOINTS if e.route.startswith("api/v1/") and not e.role_governed
                  and e.route not in OPEN_API_ROUTES]

    assert ungoverned == [], "API views must use RolePermission (the default) or be listed in OPEN_API_ROUTES"


# Anonymous


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=CASE_IDS)
def test_anonymous(client, db, endpoint, method):
    response = request(client, method, endpoint.path)

    if endpoint.kind == "page":
        if endpoint.login_exempt:
            assert not is_login_redirect(response)
            assert response.status_code < 500
        else:
            assert is_login_redirect(response), f"{method} {endpoint.path} answered {response.status_code}"
            assert response["Location"] == f"{LOGIN_PAGE}?next={endpoint.path}"
    elif endpoint.route in OPEN_API_ROUTES:
        assert response.status_code not in (500, 403), response.content
    else:
        # TokenAuthentication comes first, so DRF answers 401 with a WWW-Authenticate challenge.
        assert response.status_code == 401, f"{method} {endpoint.path} answered {response.status_code}"
        if endpoint.route.startswith("api/v1/"):
            assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("path", "status"), [
    ("/login/", 200), ("/health/", 200), ("/i18n/setlang/", 405), ("/", 302), ("/logout/", 302),
    ("/api/v1/dashboard/summary/", 401), ("/api/v1/analytics/metrics-runs/", 401),
    ("/api/schema/", 401), ("/api/docs/", 401), ("/admin/", 302),
])
def test_anonymous_known_answers(client, db, path, status):
    response = client.get(path)

    assert response.status_code == status


def test_anonymous_admin_goes_to_the_admin_login(client, db):
    response = client.get("/admin/")

    assert response["Location"] == "/admin/login/?next=/admin/"


# Each role


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=CASE_IDS)
def test_role(make_staff, client, seeded, role, endpoint, method):
    client.force_login(make_staff(role))

    response = request(client, method, endpoint.path)

    where = f"{role}: {method} {endpoint.path} answered {response.status_code}"
    assert response.status_code < 500, where
    assert response.status_code != 401, where
    assert not is_login_redirect(response), where
    if not endpoint.role_governed:
        return
    if endpoint.allows(role, method):
        assert response.status_code != 403 or endpoint.extra_permissions, where
    else:
        assert response.status_code == 403, where


# The explicit table for the endpoints that exist today (GET, exact status per role).
ADMIN_ONLY = {role: (200 if role == Role.ADMIN else 302) for role in Role}
EVERYONE = dict.fromkeys(Role, 200)
KNOWN = {
    "/": EVERYONE,
    "/admin/": ADMIN_ONLY,
    "/api/v1/dashboard/summary/": EVERYONE,
    "/api/v1/analytics/metrics-runs/": EVERYONE,
    "/api/schema/": EVERYONE,
    "/api/docs/": EVERYONE,
    "/health/": EVERYONE,
    "/login/": dict.fromkeys(Role, 302),  # redirect_authenticated_user
}


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("path", list(KNOWN))
def test_role_known_answers(make_staff, client, seeded, role, path):
    client.force_login(make_staff(role))

    response = client.get(path)

    assert response.status_code == KNOWN[path][role]


def test_known_table_agrees_with_can():
    for endpoint in ENDPOINTS:
        if endpoint.path in KNOWN and endpoint.area is not None:
            for role in Role:
                assert endpoint.allows(role, "GET") == (KNOWN[endpoint.path][role] == 200), (endpoint.path, role)


def test_dashboard_endpoints_declare_their_area():
    by_path = {endpoint.path: endpoint for endpoint in ENDPOINTS}

    assert by_path["/"].area == Area.DASHBOARD
    assert by_path["/api/v1/dashboard/summary/"].area == Area.DASHBOARD
    assert by_path["/api/v1/analytics/metrics-runs/"].area == Area.METRICS_RUNS


# The admin site: only administrators


def _admin_changelists() -> list[str]:
    return sorted(f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_admin_site_is_for_admins_only(make_staff, client, seeded, role):
    client.force_login(make_staff(role))

    for path in ["/admin/", *_admin_changelists()]:
        response = client.get(path)
        if role == Role.ADMIN:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 302, path
            assert response["Location"].startswith("/admin/login/"), path


# roles.can() itself


def test_permissions_cover_every_area_and_action():
    assert set(PERMISSIONS) == set(Area)
    for area, actions in PERMISSIONS.items():
        assert set(actions) == set(Action), area
        assert actions[Action.CHANGE] <= ALL_ROLES


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_can_follows_permissions_for_each_role(make_staff, role):
    staff = make_staff(role)

    for area in Area:
        for action in Action:
            assert can(staff, area, action) == (role in PERMISSIONS[area][action]), (area, action)


def test_can_accepts_plain_strings(make_staff):
    analyst = make_staff(Role.ANALYST)

    assert can(analyst, "analytics", "change") is True
    assert can(analyst, "merchants", "change") is False
    assert can(analyst, "dashboard") is True


def test_can_rejects_an_unknown_area(make_staff):
    with pytest.raises(ValueError):
        can(make_staff(Role.PM), "payroll")


def test_explicit_rules():
    admin_only = frozenset({Role.ADMIN})
    assert PERMISSIONS[Area.DASHBOARD][Action.VIEW] == ALL_ROLES
    assert PERMISSIONS[Area.ADMIN_SITE][Action.VIEW] == admin_only
    assert PERMISSIONS[Area.INGEST_KEYS][Action.VIEW] == admin_only
    assert PERMISSIONS[Area.METRICS_RUNS][Action.VIEW] == ALL_ROLES
    assert PERMISSIONS[Area.MERCHANTS][Action.CHANGE] == frozenset({Role.MERCHANT_OPS, Role.ADMIN})
    assert PERMISSIONS[Area.CUSTOMERS][Action.CHANGE] == frozenset({Role.USER_OPS, Role.ADMIN})
    assert PERMISSIONS[Area.ANALYTICS][Action.CHANGE] == frozenset({Role.ANALYST, Role.ADMIN})


def test_roles_add_up(make_staff):
    staff = make_staff(Role.MERCHANT_OPS, Role.USER_OPS)

    assert roles_of(staff) == {Role.MERCHANT_OPS, Role.USER_OPS}
    assert can(staff, Area.MERCHANTS, Action.CHANGE)
    assert can(staff, Area.CUSTOMERS, Action.CHANGE)
    assert not can(staff, Area.ANALYTICS, Action.CHANGE)


def test_no_role_and_anonymous_can_do_nothing(make_staff):
    nobody = make_staff()

    for user in (nobody, AnonymousUser(), None):
        assert roles_of(user) == frozenset()
        assert not any(can(user, area, action) for area in Area for action in Action)


def test_inactive_staff_loses_every_role(make_staff):
    staff = make_staff(Role.ADMIN)
    staff.is_active = False

    assert roles_of(staff) == frozenset()
    assert not can(staff, Area.DASHBOARD)


def test_superuser_holds_every_role(make_staff):
    staff = make_staff()
    staff.is_superuser = True

    assert roles_of(staff) == ALL_ROLES


def test_roles_are_read_once_per_user_object(make_staff, django_assert_num_queries):
    staff = make_staff(Role.PM)
    roles_of(staff)

    with django_assert_num_queries(0):
        for area in Area:
            can(staff, area)


def test_migration_created_the_six_role_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}
    assert Group.objects.filter(name__in=[role.value for role in Role]).count() == 6


def test_staff_create_gives_admins_the_admin_site(make_staff):
    admin_user = make_staff(Role.ADMIN)
    analyst = make_staff(Role.ANALYST)

    assert admin_user.is_staff and admin_user.is_superuser
    assert not analyst.is_staff and not analyst.is_superuser
    assert list(analyst.groups.values_list("name", flat=True)) == ["analyst"]


# The dashboard has no N+1: its query count does not grow with the data


# session, user, the user's groups (roles, once per request), AARRR totals for this and last week, events,
# people, merchants, live merchants, open tickets, the last metrics run, events per day.
DASHBOARD_MAX_QUERIES = 12


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries)


def test_dashboard_query_count_is_bounded_and_flat(client_for, make_staff, django_assert_max_num_queries):
    client = client_for(Role.ANALYST)
    empty = _dashboard_queries(client)

    owner = make_staff(Role.MERCHANT_OPS)
    MerchantFactory.create_batch(20, owner=owner)
    TicketFactory.create_batch(10, requester=owner)
    events_create(60)
    yesterday = timezone.localdate() - timedelta(days=1)
    metrics_run_execute(date_from=yesterday - timedelta(days=9), date_to=yesterday)

    with django_assert_max_num_queries(DASHBOARD_MAX_QUERIES):
        response = client.get("/")
    assert response.status_code == 200
    assert _dashboard_queries(client) == empty
