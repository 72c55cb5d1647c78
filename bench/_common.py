"""Shared helpers for the benchmarks: a scratch database per run, timing, the machine's description."""

from __future__ import annotations

import http.client
import multiprocessing as mp
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


# HTTP load: concurrent client processes posting prepared bodies (bench/ingest_http.py, bench/ingest_sdk.py)

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _post_client(port: int, path: str, headers: dict, bodies: list[bytes], start, results) -> None:
    """Send the bodies one after another (gunicorn's sync workers close each connection); report what was accepted,
    the failed requests, when it finished and its CPU time."""
    import orjson

    start.wait()
    cpu_started = time.process_time()
    accepted = failures = 0
    for body in bodies:
        for attempt in range(3):  # bounded retry on a refused or reset connection
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                conn.close()
            except OSError:
                if attempt == 2:
                    raise
                time.sleep(0.05)
                continue
            if response.status == 200:
                accepted += orjson.loads(payload)["accepted"]
            else:
                failures += 1
                print(f"HTTP {response.status}: {payload[:200]!r}", file=sys.stderr)
            break
    results.put((accepted, failures, time.perf_counter(), time.process_time() - cpu_started))


def send_bodies(port: int, path: str, headers: dict, bodies: list[bytes], clients: int
                ) -> tuple[float, int, int, float]:
    """POST ``bodies`` to ``path`` from ``clients`` processes started together: (seconds until the last finished,
    events accepted, failed requests, the clients' CPU seconds)."""
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    processes = [ctx.Process(target=_post_client, args=(port, path, headers, bodies[i::clients], start, results))
                 for i in range(clients)]
    for process in processes:
        process.start()
    time.sleep(0.5)
    began = time.perf_counter()
    start.set()
    outcomes = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return (max(outcome[2] for outcome in outcomes) - began, sum(outcome[0] for outcome in outcomes),
            sum(outcome[1] for outcome in outcomes), sum(outcome[3] for outcome in outcomes))


def write_results_section(section: str, lines: list[str]) -> None:
    """Replace (or append) the ``section`` heading's part of bench/RESULTS.md with ``lines``."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    before, _, after = text.partition(section)
    rest = ""
    if after:
        following = after.find("\n## ")
        rest = after[following + 1:] if following != -1 else ""
    RESULTS.write_text(before.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + ("\n" + rest if rest else ""),
                       encoding="utf-8")


def ingest_server_env(database_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a production-like server (DEBUG off, Redis cache) on the scratch database."""
    import secrets

    env = {key: value for key, value in os.environ.items() if key not in {"SQLITE_PATH"}}
    env.update(database_env, DJANGO_SETTINGS_MODULE="ops_platform.settings", DJANGO_DEBUG="0",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="127.0.0.1",
               DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_LOG_LEVEL="WARNING", PYTHONWARNINGS="ignore:No directory at",
               **extra)
    env.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    return env


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "ops_platform.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/", headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /health/")
