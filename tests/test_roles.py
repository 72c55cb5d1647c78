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
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404, HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, include, path, re_path, resolve
from django.urls.converters import (
    IntConverter,
    PathConverter,
    SlugConverter,
    StringConverter,
    UUIDConverter,
    get_converters,
)
from django.urls.exceptions import Resolver404
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from analytics.services.metrics import metrics_run_execute
from ops_platform.accounts.middleware import OPEN_PREFIXES
from ops_platform.core.fields import AnyTextConverter, IdConverter
from ops_platform.core.permissions import RolePermission, role_required
from ops_platform.core.roles import ALL_ROLES, PERMISSIONS, Action, Area, Role, can, roles_of
from tests.factories import MerchantFactory, TicketFactory, events_create
from tests.products.conftest import PLAN_EVENTS

ANONYMOUS = "anonymous"
PLACEHOLDER_BY_CONVERTER = {
    IdConverter: "999999",
    AnyTextConverter: "does-not-exist",
    IntConverter: "999999",
    UUIDConverter: "00000000-0000-0000-0000-000000000000",
    SlugConverter: "does-not-exist",
    StringConverter: "does-not-exist",
    PathConverter: "does-not-exist",
}
# API endpoints that answer without a staff login (they check something else), with what they answer the
# sweep's anonymous POST of an empty JSON object.
OPEN_API_ROUTES = {
    "api/v1/auth/token/": 400,  # username and password are required
    "api/v1/events/batch/": 401,  # ingestion: no X-Ingest-Key
    # The tracking SDKs' formats: no key (basic-auth user, api_key in the body, token in the URL)
    **{f"api/v1/ingest/segment/v1/{kind}": 401
       for kind in ("batch", "track", "identify", "page", "screen", "alias", "group", "b", "t", "i", "p", "a", "g")},
    **{f"api/v1/ingest/posthog/{path}": 401 for path in ("batch/", "capture/", "e/", "i/v0/e/")},
    "api/v1/ingest/sensors/sa": 401,
    "api/v1/ingest/sensors/sa.gif": 401,
}
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
    login_not_required: bool  # a page marked with Django's @login_not_required (LoginView is)

    @property
    def login_exempt(self) -> bool:
        return self.kind == "page" and (self.login_not_required or self.path.startswith(OPEN_PREFIXES))

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
    converters = get_converters()

    def route_value(match: re.Match) -> str:
        converter = converters.get(match["converter"] or "str")
        value = PLACEHOLDER_BY_CONVERTER.get(type(converter))
        if value is None:
            raise LookupError(match[0])
        return value

    if "format" in REGEX_GROUP.findall(route):
        return None  # DRF format-suffix duplicate of another pattern
    filled = REGEX_GROUP.sub("999999", route)  # re_path groups first: "(?P<name>" looks like a route param
    try:
        filled = ROUTE_PARAM.sub(route_value, filled)
    except LookupError:
        return None
    filled = filled.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    if re.search(r"[()\[\]*+?\\|{}]", filled):
        return None
    return "/" + filled


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


def discover(urlconf: str | None = None) -> tuple[list[Endpoint], list[str]]:
    """The endpoints of ``urlconf`` (ROOT_URLCONF by default) and the routes that could not be filled."""
    endpoints, unfilled = [], []
    for prefix, pattern, name, namespace in _walk(get_resolver(urlconf).url_patterns):
        route = prefix + str(pattern.pattern)
        if namespace == "admin" or route.startswith(("static/", "media/", "__debug__/")):
            continue  # the admin site has its own login; see the admin tests below
        path = _fill(route)
        if path is None:
            unfilled.append(route)
            continue
        try:
            match = resolve(path, urlconf)
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
            login_not_required=getattr(callback, "login_required", True) is False,
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
            "/api/v1/dashboard/summary/", "/api/v1/analytics/metrics-runs/", "/api/schema/", "/api/docs/",
            "/api/v1/events/batch/", "/api/v1/analytics/ingest-keys/", "/api/v1/analytics/ingest-keys/create/",
            "/api/v1/analytics/ingest-keys/999999/revoke/", "/analytics/ingest-keys/", "/analytics/ingest-keys/new/",
            "/analytics/ingest-keys/999999/revoke/"} <= paths


def test_every_pattern_is_swept():
    """Every pattern is filled with placeholders and swept: a new path converter without a placeholder had once
    dropped every route that used it from the role matrix, silently."""
    assert sorted(UNFILLED) == []
    assert len(ENDPOINTS) >= 10


def test_every_api_v1_endpoint_is_role_governed_or_known_open():
    ungoverned = [e.route for e in ENDPOINTS if e.route.startswith("api/v1/") and not e.role_governed
                  and e.route not in OPEN_API_ROUTES]

    assert ungoverned == [], "API views must use RolePermission (the default) or be listed in OPEN_API_ROUTES"


# Anonymous


def check_anonymous_answer(response, endpoint: Endpoint, method: str) -> None:
    if endpoint.kind == "page":
        if endpoint.login_exempt:
            assert not is_login_redirect(response)
            assert response.status_code < 500
        else:
            assert is_login_redirect(response), f"{method} {endpoint.path} answered {response.status_code}"
            assert response["Location"] == f"{LOGIN_PAGE}?next={endpoint.path}"
    elif endpoint.route in OPEN_API_ROUTES:
        assert response.status_code == OPEN_API_ROUTES[endpoint.route], response.content
    else:
        # TokenAuthentication comes first, so DRF answers 401 with a WWW-Authenticate challenge.
        assert response.status_code == 401, f"{method} {endpoint.path} answered {response.status_code}"
        if endpoint.route.startswith("api/v1/"):
            assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=CASE_IDS)
def test_anonymous(client, db, endpoint, method):
    response = request(client, method, endpoint.path)

    check_anonymous_answer(response, endpoint, method)


@pytest.mark.parametrize(("url", "status"), [
    ("/login/", 200), ("/health/", 200), ("/i18n/setlang/", 405), ("/", 302), ("/logout/", 302),
    ("/api/v1/dashboard/summary/", 401), ("/api/v1/analytics/metrics-runs/", 401),
    ("/api/schema/", 401), ("/api/docs/", 401), ("/admin/", 302),
])
def test_anonymous_known_answers(client, db, url, status):
    response = client.get(url)

    assert response.status_code == status


def test_anonymous_admin_goes_to_the_admin_login(client, db):
    response = client.get("/admin/")

    assert response["Location"] == "/admin/login/?next=/admin/"


# Each role


def check_role_answer(response, role: Role, endpoint: Endpoint, method: str) -> None:
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


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=CASE_IDS)
def test_role(make_staff, client, seeded, role, endpoint, method):
    client.force_login(make_staff(role))

    response = request(client, method, endpoint.path)

    check_role_answer(response, role, endpoint, method)


# The explicit table for the endpoints that exist today (GET, exact status per role).
ADMIN_ONLY = {role: (200 if role == Role.ADMIN else 302) for role in Role}
EVERYONE = dict.fromkeys(Role, 200)
ADMIN_ONLY_PAGE = {role: (200 if role == Role.ADMIN else 403) for role in Role}  # role_required pages
KNOWN = {
    "/": EVERYONE,
    "/admin/": ADMIN_ONLY,
    "/api/v1/dashboard/summary/": EVERYONE,
    "/api/v1/analytics/metrics-runs/": EVERYONE,
    "/api/v1/analytics/ingest-keys/": EVERYONE,
    "/analytics/ingest-keys/": EVERYONE,
    "/analytics/ingest-keys/new/": ADMIN_ONLY_PAGE,
    "/api/schema/": EVERYONE,
    "/api/docs/": EVERYONE,
    "/health/": EVERYONE,
    "/login/": dict.fromkeys(Role, 302),  # redirect_authenticated_user
}


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("url", list(KNOWN))
def test_role_known_answers(make_staff, client, seeded, role, url):
    client.force_login(make_staff(role))

    response = client.get(url)

    assert response.status_code == KNOWN[url][role]


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

    for url in ["/admin/", *_admin_changelists()]:
        response = client.get(url)
        if role == Role.ADMIN:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


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
    assert PERMISSIONS[Area.INGEST_KEYS][Action.VIEW] == ALL_ROLES  # analysts and ops read the list
    assert PERMISSIONS[Area.INGEST_KEYS][Action.CHANGE] == admin_only  # only admins manage keys
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
# people, merchants, live merchants, open tickets, the last metrics run, events per day, launch markers; then the
# analyst's desk (tests/desk pin each role's desk): teams led, my goals, tickets waiting, plans to review, open alerts;
# then the pinned dashboards of my teams (none: the platform block) and the annotations among the chart's markers.
DASHBOARD_MAX_QUERIES = 13 + 5 + 2


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


# The sweep itself, on probe views mounted only for these tests: it must see a denial, fill parameters and
# catch a view that lets a role through.


class IngestKeyProbeApi(APIView):
    role_area = Area.INGEST_KEYS

    def get(self, request):
        return Response({"keys": []})

    def post(self, request):
        return Response({"key": "new"}, status=201)


class MerchantProbeDetailApi(APIView):
    role_area = Area.MERCHANTS

    def get(self, request, **lookup):
        raise Http404

    def patch(self, request, **lookup):
        raise Http404


class AlwaysAllow(RolePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class LeakyProbeApi(APIView):
    """Claims the admin area but lets every logged-in staff member through: the sweep must catch it."""

    role_area = Area.ADMIN_SITE
    permission_classes = [AlwaysAllow]

    def get(self, request):
        return Response({"secret": 42})


@role_required(Area.ADMIN_SITE)
def admin_probe_page(request):
    return HttpResponse("admins only")


@role_required(Area.CUSTOMERS, Action.CHANGE)
def customer_probe_edit_page(request, pk):
    raise Http404


PROBES = [
    path("api/v1/probe/ingest-keys/", IngestKeyProbeApi.as_view()),
    path("api/v1/probe/merchants/<int:pk>/", MerchantProbeDetailApi.as_view()),
    re_path(r"^api/v1/probe/merchants-by-code/(?P<code>[^/.]+)/$", MerchantProbeDetailApi.as_view()),
    re_path(r"^api/v1/probe/merchants-by-code/(?P<code>[^/.]+)\.(?P<format>[a-z0-9]+)/?$",
            MerchantProbeDetailApi.as_view()),
    path("probe/admin-only/", admin_probe_page),
    path("probe/customers/<int:pk>/edit/", customer_probe_edit_page),
    path("api/v1/probe/leaky/", LeakyProbeApi.as_view()),
]
urlpatterns = [*PROBES, path("", include("ops_platform.urls"))]


def _probe_endpoints() -> dict[str, Endpoint]:
    endpoints, unfilled = discover("tests.test_roles")
    assert [route for route in unfilled if "probe" in route] == [
        r"^api/v1/probe/merchants-by-code/(?P<code>[^/.]+)\.(?P<format>[a-z0-9]+)/?$"]
    return {endpoint.path: endpoint for endpoint in endpoints if "probe" in endpoint.path}


def test_sweep_reads_areas_actions_and_fills_parameters():
    probes = _probe_endpoints()

    assert sorted(probes) == [
        "/api/v1/probe/ingest-keys/", "/api/v1/probe/leaky/", "/api/v1/probe/merchants-by-code/999999/",
        "/api/v1/probe/merchants/999999/", "/probe/admin-only/", "/probe/customers/999999/edit/",
    ]
    assert probes["/api/v1/probe/ingest-keys/"].methods == ("GET", "POST")
    assert probes["/api/v1/probe/merchants/999999/"].methods == ("GET", "PATCH")
    assert probes["/probe/customers/999999/edit/"].area == Area.CUSTOMERS
    assert probes["/probe/customers/999999/edit/"].action == Action.CHANGE
    assert probes["/probe/admin-only/"].kind == "page"


@pytest.mark.urls("tests.test_roles")
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_sweep_sees_denials_on_probes(make_staff, client, role):
    probes = _probe_endpoints()
    client.force_login(make_staff(role))
    answers = {}

    for probe_path, endpoint in probes.items():
        if "leaky" in probe_path:
            continue
        for method in endpoint.methods:
            response = request(client, method, probe_path)
            check_role_answer(response, role, endpoint, method)
            answers[(method, probe_path)] = response.status_code

    admin = role == Role.ADMIN
    assert answers[("GET", "/api/v1/probe/ingest-keys/")] == 200
    assert answers[("POST", "/api/v1/probe/ingest-keys/")] == (201 if admin else 403)
    assert answers[("GET", "/api/v1/probe/merchants/999999/")] == 404
    assert answers[("PATCH", "/api/v1/probe/merchants/999999/")] == (
        404 if role in (Role.MERCHANT_OPS, Role.ADMIN) else 403)
    assert answers[("GET", "/probe/admin-only/")] == (200 if admin else 403)
    assert answers[("GET", "/probe/customers/999999/edit/")] == (
        404 if role in (Role.USER_OPS, Role.ADMIN) else 403)


@pytest.mark.urls("tests.test_roles")
def test_sweep_catches_a_view_that_lets_a_role_through(make_staff, client):
    leaky = _probe_endpoints()["/api/v1/probe/leaky/"]
    client.force_login(make_staff(Role.PM))

    response = request(client, "GET", leaky.path)

    assert response.status_code == 200
    with pytest.raises(AssertionError, match="pm: GET /api/v1/probe/leaky/ answered 200"):
        check_role_answer(response, Role.PM, leaky, "GET")


@pytest.mark.urls("tests.test_roles")
def test_sweep_checks_probes_for_anonymous(client, db):
    for endpoint in _probe_endpoints().values():
        for method in endpoint.methods:
            check_anonymous_answer(request(client, method, endpoint.path), endpoint, method)


# Every download, role by role: the file's contents decide who may have it, not only the route's area. A new route
# that downloads something (export, .csv, .xlsx, a file) must be listed here.

DOWNLOAD_ROUTE = re.compile(r"export|\.csv|\.xlsx|download|/file/")
RECORDS = PERMISSIONS[Area.CUSTOMER_RECORDS][Action.VIEW]
EVERYONE_ROLES = ALL_ROLES


@pytest.fixture
def downloads(db, make_staff, settings, tmp_path):
    """One of everything that downloads, and a finished export job of each kind (created by an administrator)."""
    from datetime import date

    from analytics.models import ExportJob
    from desk.models import Digest
    from goals.models import Team
    from users.models import CouponCampaign, Segment

    settings.MEDIA_ROOT = tmp_path
    admin_user = make_staff(Role.ADMIN, username="download_admin")
    now = timezone.now()
    segment = Segment.objects.create(name="All", rules={"op": "and", "conditions": []}, created_by=admin_user)
    campaign = CouponCampaign.objects.create(name="Spring", kind=CouponCampaign.Kind.NEW_USER, face_value=5,
                                             budget=100, valid_from=now, valid_to=now + timedelta(days=9))
    digest = Digest.objects.create(team=Team.objects.create(name="Ops", kind="merchant_ops"),
                                   week=date(2026, 11, 16), content={})
    jobs = {}
    for kind in ("aarrr", "events"):
        job = ExportJob.objects.create(kind=kind, params={"date_from": "2026-11-01", "date_to": "2026-11-02"},
                                       status=ExportJob.Status.DONE, created_by=admin_user)
        job.file.save(f"{kind}.csv", ContentFile(b"\xef\xbb\xbfa\r\n"))
        jobs[kind] = job
    from products.services.tickets import ticket_attachment_add

    ticket = TicketFactory(requester=admin_user)
    attachment = ticket_attachment_add(ticket_id=ticket.pk, user=admin_user,
                                       upload=SimpleUploadedFile("notes.txt", b"hello"))
    return {"segment": segment, "campaign": campaign, "digest": digest, "jobs": jobs, "attachment": attachment}


def _download_cases(objects) -> list[tuple[str, str, dict | None, frozenset[Role]]]:
    """(method, url, body, roles allowed) for every download the application offers."""
    dates = "date_from=2026-11-01&date_to=2026-11-02"
    return [
        ("GET", f"/api/v1/analytics/exports/download/?kind=aarrr&{dates}", None, EVERYONE_ROLES),
        ("GET", f"/api/v1/analytics/exports/download/?kind=aarrr&file_format=xlsx&{dates}", None, EVERYONE_ROLES),
        ("GET", f"/api/v1/analytics/exports/download/?kind=events&{dates}", None, RECORDS),
        ("GET", f"/api/v1/analytics/exports/download/?kind=events&file_format=xlsx&{dates}", None, RECORDS),
        ("POST", "/api/v1/analytics/exports/", {"kind": "events", "params": {"date_from": "2026-11-01",
                                                                            "date_to": "2026-11-02"}},
         RECORDS & PERMISSIONS[Area.ANALYTICS][Action.CHANGE]),
        ("POST", "/api/v1/analytics/exports/", {"kind": "aarrr", "params": {"date_from": "2026-11-01",
                                                                           "date_to": "2026-11-02"}},
         PERMISSIONS[Area.ANALYTICS][Action.CHANGE]),
        ("GET", f"/api/v1/analytics/exports/{objects['jobs']['events'].id}/file/", None, frozenset({Role.ADMIN})),
        ("GET", f"/api/v1/analytics/exports/{objects['jobs']['aarrr'].id}/file/", None, frozenset({Role.ADMIN})),
        ("GET", "/analytics/retention/export/", None, EVERYONE_ROLES),  # cohort counts, no single customer
        ("GET", "/analytics/retention/export/?file_format=xlsx", None, EVERYONE_ROLES),
        ("GET", "/users/customers/export.csv", None, RECORDS),
        ("GET", f"/users/segments/{objects['segment'].pk}/export.csv", None, RECORDS),
        ("GET", f"/users/coupons/{objects['campaign'].pk}/codes.csv", None, RECORDS),
        ("POST", "/api/v1/users/segments/preview/", {"rules": {"op": "and", "conditions": [
            {"field": "distinct_id", "operator": "eq", "value": "alice"}]}}, RECORDS),
        ("GET", "/merchants/export/", None, EVERYONE_ROLES),
        ("GET", "/merchants/export/?format=xlsx", None, EVERYONE_ROLES),
        ("GET", "/api/v1/merchants/export/", None, EVERYONE_ROLES),
        ("GET", f"/desk/digests/{objects['digest'].pk}/digest.xlsx", None, frozenset({Role.ADMIN})),  # no members
        # Ticket attachments: whoever reads tickets (every role), never a public media URL.
        ("GET", f"/products/tickets/{objects['attachment'].ticket_id}/attachments/{objects['attachment'].pk}/", None,
         PERMISSIONS[Area.TICKETS][Action.VIEW]),
        ("GET", f"/api/v1/products/tickets/{objects['attachment'].ticket_id}/attachments/{objects['attachment'].pk}"
                "/file/", None, PERMISSIONS[Area.TICKETS][Action.VIEW]),
        # the report pages' downloads: everyone who reads analytics; restricted to a segment, customer records
        ("GET", f"/analytics/funnel/export/?steps=visit&steps=order_paid&window_days=3&{dates}", None, EVERYONE_ROLES),
        ("GET", f"/analytics/retention/export/?cohort_event=visit&return_event=order_paid&period=day&{dates}"
                "&file_format=xlsx", None, EVERYONE_ROLES),
        ("GET", f"/analytics/golden-time/export/?event=visit&{dates}", None, EVERYONE_ROLES),
        ("GET", f"/analytics/trends/export/?event=visit&{dates}", None, EVERYONE_ROLES),
        ("GET", f"/analytics/stickiness/export/?event=visit&{dates}&segment={objects['segment'].pk}", None, RECORDS),
        ("GET", f"/api/v1/analytics/exports/download/?kind=trends&event=visit&{dates}"
                f"&exclude_segment={objects['segment'].pk}", None, RECORDS),
        # the other reports' pages and API (ops_platform/core/report_files.py): the page's own area
        ("GET", f"/users/channels/export/?{dates}", None, PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", f"/users/channels/export/?{dates}&file_format=xlsx", None, PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", f"/users/lifecycle/export/?{dates}", None, PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", "/users/rfm/export/?file_format=xlsx", None, PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", "/users/customers/export/?file_format=xlsx", None, RECORDS),  # single customers' RFM scores
        ("GET", "/merchants/tiers/export/", None, PERMISSIONS[Area.MERCHANTS][Action.VIEW]),
        ("GET", "/products/tickets/export/?file_format=xlsx", None, PERMISSIONS[Area.TICKETS][Action.VIEW]),
        ("GET", "/products/tickets/mine/export/", None, PERMISSIONS[Area.TICKETS][Action.VIEW]),
        ("GET", f"/api/v1/analytics/exports/download/?kind=channel_quality&{dates}", None,
         PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", f"/api/v1/analytics/exports/download/?kind=lifecycle&{dates}", None,
         PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", "/api/v1/analytics/exports/download/?kind=rfm", None, PERMISSIONS[Area.CUSTOMERS][Action.VIEW]),
        ("GET", "/api/v1/analytics/exports/download/?kind=customers&file_format=xlsx", None, RECORDS),
        ("GET", "/api/v1/analytics/exports/download/?kind=tiers", None, PERMISSIONS[Area.MERCHANTS][Action.VIEW]),
        ("GET", "/api/v1/analytics/exports/download/?kind=tickets&mine=1", None,
         PERMISSIONS[Area.TICKETS][Action.VIEW]),
        ("POST", "/api/v1/analytics/exports/", {"kind": "customers", "params": {"min_orders": 1}},
         RECORDS & PERMISSIONS[Area.ANALYTICS][Action.CHANGE]),
        ("POST", "/api/v1/analytics/exports/", {"kind": "tickets", "params": {"status": ["proposed"]}},
         PERMISSIONS[Area.TICKETS][Action.VIEW] & PERMISSIONS[Area.ANALYTICS][Action.CHANGE]),
    ]


def test_every_download_route_is_in_the_download_matrix(downloads):
    covered = {resolve(url.split("?")[0]).route for _method, url, _body, _roles in _download_cases(downloads)}
    download_routes = {endpoint.route for endpoint in ENDPOINTS if DOWNLOAD_ROUTE.search(endpoint.route)
                       and endpoint.route not in ("analytics/exports/", "analytics/exports/start/",
                                                  "analytics/exports/report/",  # starts a job: see below
                                                  "api/v1/analytics/exports/<uuid:job_id>/",
                                                  "analytics/exports/<uuid:job_id>/retry/",
                                                  "api/v1/analytics/exports/<uuid:job_id>/retry/")}

    assert download_routes - covered == set()


@pytest.mark.usefixtures("celery_eager")
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_download_by_role(make_staff, client, downloads, role):
    client.force_login(make_staff(role))

    for method, url, payload, allowed in _download_cases(downloads):
        response = (client.get(url) if method == "GET"
                    else client.post(url, payload, content_type="application/json"))
        where = f"{role}: {method} {url} answered {response.status_code}"
        if role in allowed:
            assert response.status_code in (200, 202), where
        else:
            assert response.status_code in (403, 404), where
            assert not (response.get("Content-Disposition") or "").startswith("attachment"), where


@pytest.mark.usefixtures("celery_eager")
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_a_background_export_from_a_report_page_needs_the_reports_area_and_export_jobs(make_staff, client, db,
                                                                                      role):
    """``/analytics/exports/report/`` (a page's "export in the background"): starting a job needs the analytics
    change permission (as every export job), and the report's own area (customers' RFM scores: customer records)."""
    from analytics.models import ExportJob

    client.force_login(make_staff(role))
    response = client.post("/analytics/exports/report/", {"kind": "customers", "file_format": "csv", "query": ""})

    allowed = RECORDS & PERMISSIONS[Area.ANALYTICS][Action.CHANGE]
    assert response.status_code in ((302,) if role in allowed else (302, 403)), role
    assert ExportJob.objects.filter(kind="customers").exists() == (role in allowed), role


def test_an_export_job_of_raw_events_is_refused_before_it_is_recorded(api_client_for, db):
    from analytics.models import ExportJob

    response = api_client_for(Role.PM).post("/api/v1/analytics/exports/", {
        "kind": "events", "params": {"date_from": "2026-11-01", "date_to": "2026-11-02"}}, format="json")

    assert response.status_code == 403
    assert not ExportJob.objects.exists()


def test_segment_preview_cannot_single_out_a_customers_spend(api_client_for, db):
    """The attack of the report: 'distinct_id eq X and spend ≥ N', bisected. Roles without records get a 403 on the
    first try, so nothing can be learnt."""
    rules = {"op": "and", "conditions": [{"field": "distinct_id", "operator": "eq", "value": "alice"},
                                         {"field": "spend", "operator": "gte", "value": 100}]}
    for role in Role:
        response = api_client_for(role).post("/api/v1/users/segments/preview/", {"rules": rules}, format="json")
        assert response.status_code == (200 if role in RECORDS else 403), role


# Object-level rules: requirement tickets are changed by their requester, their owner PM or an administrator
# (any PM while no one owns it), and never once closed, when they take comments only.


@pytest.fixture
def ticket_people(make_staff):
    return {
        "requester": make_staff(Role.USER_OPS, username="t_requester"),
        "owner": make_staff(Role.PM, username="t_owner"),
        "other_pm": make_staff(Role.PM, username="t_other_pm"),
        **{f"other_{role.value}": make_staff(role, username=f"t_{role.value}") for role in Role if role != Role.PM},
    }


def _ticket_for(people, *, owned: bool = True, status: str = "proposed"):
    from products.models import Ticket
    from products.services.tickets import ticket_create

    ticket = ticket_create(requester=people["requester"], title="Coupon pack",
                           owner_pm=people["owner"] if owned else None)
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    return Ticket.objects.get(pk=ticket.pk)


EDITORS = {"requester": True, "owner": True, "other_pm": False, "other_admin": True, "other_merchant_ops": False,
           "other_user_ops": False, "other_product_ops": False, "other_analyst": False}


@pytest.mark.parametrize("who", sorted(EDITORS))
def test_ticket_edits_by_person(client, ticket_people, who, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = _ticket_for(ticket_people)
    client.force_login(ticket_people[who])

    patch = client.patch(f"/api/v1/products/tickets/{ticket.pk}/", {"priority": 4, "version": 1},
                         content_type="application/json")
    page = client.get(f"/products/tickets/{ticket.pk}/edit/")
    attach = client.post(f"/api/v1/products/tickets/{ticket.pk}/attachments/",
                         {"file": ContentFile(b"notes", name="notes.txt")})
    comment = client.post(f"/api/v1/products/tickets/{ticket.pk}/comments/", {"body": "Looks good"},
                          content_type="application/json")

    allowed = EDITORS[who]
    assert patch.status_code == (200 if allowed else 403), patch.content
    assert page.status_code == (200 if allowed else 403)
    assert attach.status_code == (201 if allowed else 403)
    assert comment.status_code == 201
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.version) == ((4, 2) if allowed else (2, 1))
    assert ticket.attachments.count() == (1 if allowed else 0)


def test_an_unowned_ticket_may_be_taken_on_by_any_pm(client, ticket_people):
    ticket = _ticket_for(ticket_people, owned=False)
    client.force_login(ticket_people["other_pm"])

    response = client.patch(f"/api/v1/products/tickets/{ticket.pk}/", {"owner_pm": "t_other_pm", "version": 1},
                            content_type="application/json")

    assert response.status_code == 200
    assert response.json()["owner_pm"] == "t_other_pm"


@pytest.mark.parametrize("status", ["concluded", "rejected", "cancelled"])
@pytest.mark.parametrize("who", ["requester", "owner", "other_admin"])
def test_a_closed_ticket_takes_comments_only(client, ticket_people, who, status, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = _ticket_for(ticket_people, status=status)
    client.force_login(ticket_people[who])

    patch = client.patch(f"/api/v1/products/tickets/{ticket.pk}/", {"title": "Changed", "version": 1},
                         content_type="application/json")
    page = client.post(f"/products/tickets/{ticket.pk}/edit/", {"title": "Changed", "kind": "feature",
                                                                "priority": 2, "version": 1})
    attach = client.post(f"/api/v1/products/tickets/{ticket.pk}/attachments/",
                         {"file": ContentFile(b"notes", name="notes.txt")})
    plan = client.post(f"/api/v1/products/tickets/{ticket.pk}/plans/", {"events": PLAN_EVENTS},
                       content_type="application/json")
    comment = client.post(f"/api/v1/products/tickets/{ticket.pk}/comments/", {"body": "What we learnt"},
                          content_type="application/json")

    assert patch.status_code == 403
    assert patch.json()["code"] == "ticket_closed"
    assert page.status_code == 403
    assert attach.status_code == 403
    assert plan.status_code == 403
    assert comment.status_code == 201
    ticket.refresh_from_db()
    assert (ticket.title, ticket.version, ticket.attachments.count(), ticket.plans.count()) == (
        "Coupon pack", 1, 0, 0)


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.ANALYST])
def test_the_owner_pm_must_be_a_pm_through_the_api_and_the_page(client, ticket_people, make_staff, role):
    not_a_pm = make_staff(role, username="not_a_pm")
    ticket = _ticket_for(ticket_people)
    client.force_login(ticket_people["requester"])

    created = client.post("/api/v1/products/tickets/", {"title": "X", "owner_pm": "not_a_pm"},
                          content_type="application/json")
    patched = client.patch(f"/api/v1/products/tickets/{ticket.pk}/", {"owner_pm": "not_a_pm", "version": 1},
                           content_type="application/json")
    page = client.post(f"/products/tickets/{ticket.pk}/edit/", {"title": "Coupon pack", "kind": "feature",
                                                                "priority": 2, "owner_pm": not_a_pm.pk,
                                                                "version": 1})

    assert created.status_code == 400 and "owner_pm" in created.json()["errors"]
    assert patched.status_code == 400 and "owner_pm" in patched.json()["errors"]
    assert page.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.owner_pm, ticket.version) == (ticket_people["owner"], 1)


def test_the_owner_pm_rule_holds_in_the_service_too(ticket_people, make_staff):
    from ops_platform.core.exceptions import ApplicationError
    from products.services.tickets import ticket_create

    with pytest.raises(ApplicationError) as refused:
        ticket_create(requester=ticket_people["requester"], title="X", owner_pm=make_staff(Role.ANALYST))

    assert refused.value.errors == {"owner_pm": ["Choose a staff member with the PM role."]}
