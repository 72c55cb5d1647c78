"""The Redis cache, without making Redis a single point of failure for the web.

Everything the web keeps in the cache can be lost: throttle counters, cached reads (a goal's coupon ROI, the
dashboard's numbers), short locks. So when Redis does not answer, ``ResilientRedisCache`` logs one warning and
serves from a cache local to the process (``LocMemCache``) instead of raising into the request, which made every
API endpoint answer 500 (ingestion included) while Redis was down. Throttles then count per process, and cached
reads are computed again: degraded, not down.

After a failure it leaves Redis alone for ``RETRY_SECONDS`` (a circuit breaker: a request does not wait for a
connection timeout each time), then tries again; the first success logs that Redis is back. The sockets' timeouts
are short (``OPTIONS`` in settings) so that a Redis that hangs costs a request at most that long, once.

``redis_ping()`` is what ``/health/`` asks: Redis itself, never the fallback.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
REDIS_DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that falls back to a local cache while Redis is down."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._fallback = LocMemCache(f"resilient-fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0  # time.monotonic(): the pinned test clock does not move it
        self._lock = threading.Lock()

    # The circuit

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: BaseException) -> None:
        with self._lock:
            was_up = self._down_until == 0.0
            self._down_until = time.monotonic() + RETRY_SECONDS
        if was_up:
            logger.warning("Redis cache unavailable (%s: %s: %s); serving from a local cache, trying again every "
                           "%ss.", operation, type(exc).__name__, exc, int(RETRY_SECONDS))

    def _succeeded(self) -> None:
        if self._down_until:
            with self._lock:
                self._down_until = 0.0
            logger.warning("Redis cache available again.")

    def _call(self, operation: str, *args, **kwargs):
        if self._available():
            try:
                result = getattr(super(), operation)(*args, **kwargs)
            except REDIS_DOWN_ERRORS as exc:
                self._failed(operation, exc)
            else:
                self._succeeded()
                return result
        return getattr(self._fallback, operation)(*args, **kwargs)

    @property
    def degraded(self) -> bool:
        """True while the cache serves from the local fallback."""
        return self._down_until != 0.0

    def redis_ping(self) -> None:
        """Raise unless Redis itself answers (health checks); a success closes the circuit."""
        self._cache.get_client(write=True).ping()
        self._succeeded()

    # The cache API

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        self._fallback.clear()
        return self._call("clear")
