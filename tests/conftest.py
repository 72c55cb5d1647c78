"""Shared fixtures.

Real services: PostgreSQL when DATABASE_URL is set, Redis when REDIS_URL is set, Chromium at
/usr/bin/chromium. On a bare machine tests that need a missing service are skipped (and the run says
so); with CI set, a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from ops_platform.accounts.services import staff_create
from ops_platform.core.roles import Role

IN_CI = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "demo-pass-123"


def missing_service(reason: str) -> None:
    """Skip on a bare machine; fail in CI, where every real service must be there."""
    if IN_CI:
        pytest.fail(f"CI requires it: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [
        f"ops-platform: database={engine} redis={'yes' if settings.REDIS_URL else 'no (eager Celery)'} "
        f"chromium={'yes' if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM) else 'no'} CI={IN_CI}"
    ]


@pytest.fixture(scope="session", autouse=True)
def _ci_requires_real_services():
    """In CI the suite must run on PostgreSQL with Redis: refuse SQLite there."""
    if not IN_CI:
        return
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.fail(f"CI must run against PostgreSQL (DATABASE_URL), got {engine}.", pytrace=False)
    if not settings.REDIS_URL:
        pytest.fail("CI must run with REDIS_URL set.", pytrace=False)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Chinese leaves its language active in the thread."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (throttle counters, cached reads such as a goal's coupon ROI)."""
    from django.core.cache import cache

    cache.clear()


# "Now" for every test: Wednesday 2026-11-25, 10:00 in Asia/Shanghai (mid-week, late in the month). No test reads
# the real clock: a suite that passed on the day it was written passes on any day of any year.
PINNED_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def pytest_configure(config):
    config.addinivalue_line("markers", "now(moment): pin the clock at this aware datetime (or local date, 10:00) "
                                       "instead of PINNED_NOW")


def _as_moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("pin the clock with an aware datetime")
        return value
    return datetime.combine(value, time(10), tzinfo=PINNED_NOW.tzinfo)


@pytest.fixture(autouse=True)
def _pinned_now(request):
    """Every test starts at PINNED_NOW (or at its ``@pytest.mark.now(...)``), and the clock then ticks on.

    time-machine moves ``time.time()``, ``datetime.now()`` and ``date.today()`` for every thread of this process
    (the live server's too), so ``timezone.now()`` and ``timezone.localdate()`` follow. Monotonic clocks are left
    alone, so timeouts and polling still measure real time. Other processes (a Celery worker, gunicorn) are pinned
    by their own launchers (``tests/pinned_clock.py``)."""
    marker = request.node.get_closest_marker("now")
    moment = _as_moment(marker.args[0]) if marker else PINNED_NOW
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture
def today_is(_pinned_now):
    """today_is(date(2026, 11, 20)) moves the clock to 10:00 local time on that day (every thread of the process: the
    live server's too) and returns the day; an aware datetime moves it to that instant."""

    travels = []

    def pin(day):
        travel = time_machine.travel(_as_moment(day), tick=True)
        travel.start()
        travels.append(travel)
        return day

    yield pin
    for travel in reversed(travels):
        travel.stop()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Full-strength PBKDF2 costs ~0.3 s a hash on this machine; tests log in, they do not test the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def redis_url():
    from django.conf import settings

    if not settings.REDIS_URL:
        missing_service("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        missing_service(f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    return settings.REDIS_URL


@pytest.fixture
def chromium_path():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing_service(f"Chromium not found at {CHROMIUM}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing_service("Playwright is not installed")
    return CHROMIUM


@pytest.fixture
def make_staff(db):
    """make_staff(Role.ANALYST) → a saved staff member holding that role (password PASSWORD)."""
    counter = {"n": 0}

    def make(*roles: Role | str, username: str | None = None, **extra):
        counter["n"] += 1
        name = username or f"{'_'.join(str(r) for r in roles) or 'norole'}_{counter['n']}"
        return staff_create(username=name, password=PASSWORD, roles=list(roles), **extra)

    return make


@pytest.fixture
def api_client_for(make_staff):
    """api_client_for(Role.PM) → an APIClient logged in (token-free, force-authenticated) as that role."""

    def make(*roles: Role | str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=make_staff(*roles))
        return client

    return make


@pytest.fixture
def client_for(make_staff, client):
    """client_for(Role.ANALYST) → Django test client with a logged-in session for that role."""

    def make(*roles: Role | str):
        client.force_login(make_staff(*roles))
        return client

    return make


@pytest.fixture
def celery_conf():
    """celery_conf(task_always_eager=True, …): change the Celery app's settings for one test, restored after."""
    from ops_platform.celery import app

    saved: dict = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, app.conf.get(key))
            app.conf[key] = value

    yield change
    for key, value in saved.items():
        app.conf[key] = value


@pytest.fixture
def celery_eager(celery_conf):
    """Tasks queued in this test run in process, as in the embedded default (even when REDIS_URL is set)."""
    celery_conf(task_always_eager=True, task_eager_propagates=False)


@pytest.fixture
def team_with(db):
    """team_with("Growth", "user_ops", lead=staff, members=[…]) → a team with its lead and members."""
    from goals.models import Team, TeamMembership

    def make(name: str, kind: str, lead=None, members=()):
        team = Team.objects.create(name=name, kind=kind)
        if lead is not None:
            TeamMembership.objects.create(team=team, user=lead, is_lead=True)
        for member in members:
            TeamMembership.objects.create(team=team, user=member)
        return team

    return make
