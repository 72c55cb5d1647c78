"""What ``/health/`` checks: each dependency of the web, with how long it took to answer.

The database is the one dependency the web cannot do without (``HEALTH_REQUIRED``, by default ``database``): while
it is down ``/health/`` answers 503 and a load balancer should stop routing here. The cache (Redis) and the broker
(Redis, for Celery) are reported but, by default, not required: without the cache, throttles and cached reads fall
back to a local cache (``core/cache.py``); without the broker, queueing work answers 503 and everything else still
works. ``HEALTH_REQUIRED=database,cache,broker`` makes every one of them required.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

CHECK_TIMEOUT_SECONDS = 2


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    ping = getattr(cache, "redis_ping", None)
    if ping is not None:
        ping()
        return
    cache.set("health-check", 1, 5)  # a local cache (the embedded default): it answers if it works at all
    if cache.get("health-check") != 1:
        raise RuntimeError("the cache did not keep a value")


def _broker() -> None:
    from ops_platform.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache, "broker": _broker}


def health_report() -> tuple[bool, dict]:
    """(healthy, report): healthy unless a required dependency is down.

    ``report`` = ``{"status": "ok" | "degraded" | "down", "checks": {name: {"status": "ok" | "down", "required",
    "ms", "error"?}}}``: "degraded" when only dependencies the web can do without are down.
    """
    required = set(getattr(settings, "HEALTH_REQUIRED", ["database"]))
    checks: dict[str, dict] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        entry: dict = {"required": name in required}
        try:
            check()
        except Exception as exc:  # any failure is the answer, never a 500
            entry["status"] = "down"
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            entry["status"] = "ok"
        entry["ms"] = round((time.monotonic() - started) * 1000, 1)
        checks[name] = entry
    down = {name for name, entry in checks.items() if entry["status"] != "ok"}
    healthy = not (down & required)
    status = "ok" if not down else ("degraded" if healthy else "down")
    return healthy, {"status": status, "checks": checks}
