"""Fixtures that start and stop real services for fault tests (a private redis-server of the test's own)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest
import redis

from tests.conftest import missing_service

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivateRedis:
    port: int
    directory: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    pytest.fail("the private redis-server did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server on a free port, started; ``stop()`` and ``start()`` it to inject the fault."""
    if not shutil.which("redis-server") and not shutil.os.path.exists(REDIS_SERVER):
        missing_service("redis-server is not installed")
    server = PrivateRedis(port=free_port(), directory=str(tmp_path))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on_private_redis(private_redis, settings):
    """The web's cache and Celery's broker pointed at the private redis-server (restored afterwards)."""
    from ops_platform.celery import app

    settings.CACHES = {"default": {"BACKEND": "ops_platform.core.cache.ResilientRedisCache",
                                   "LOCATION": private_redis.url,
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2}}}
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}

    def reset_pools():
        # Drop the app's references only: the pools live in kombu's registry by URL, and the real broker's is used
        # again afterwards (closing it would leave the registry holding a closed pool).
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = private_redis.url
    app.conf.task_always_eager = False
    reset_pools()
    yield private_redis
    app.conf.update(saved)
    reset_pools()
