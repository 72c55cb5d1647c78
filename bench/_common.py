"""Shared helpers for the benchmarks: a scratch database per run, timing, the machine's description."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"


def postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(BENCH_PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def database_url(name: str) -> str:
    """The URL of database ``name`` on the benchmark server."""
    return BENCH_PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def scratch_postgres(name: str) -> str:
    """A fresh, empty PostgreSQL database named ``name``; returns its URL."""
    import psycopg

    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def scratch_sqlite() -> dict[str, str]:
    directory = tempfile.mkdtemp(prefix="opsbench-")
    return {"SQLITE_PATH": str(Path(directory) / "bench.sqlite3")}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a management command against the database ``env`` names (and no other)."""
    inherited = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "SQLITE_PATH"}}
    full_env = {**inherited, "DJANGO_SETTINGS_MODULE": "ops_platform.settings", **env}
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=full_env, check=True, capture_output=True,
                          text=True)


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def django_on(url: str) -> None:
    """Set Django up in this process on database ``url`` (again, for another database, in the same process)."""
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_platform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    if not getattr(django, "_ops_ready", False):
        django.setup()
        django._ops_ready = True
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = url.rsplit("/", 1)[1]
