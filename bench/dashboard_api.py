"""Dashboard API latency under load: 20 concurrent clients (wrk) against gunicorn, at 10M events.

Target (analytics issue): p95 under 150 ms with 20 concurrent clients at 10M events. Needs Debian's `wrk`
(`apt-get install wrk`). Loopback only; each run lasts --seconds. Median of --runs runs per endpoint.

    .venv/bin/python bench/dashboard_api.py [--runs 3] [--seconds 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import PYTHON, ROOT, machine, manage, median
from _synthetic import synthetic_database

TARGET_MS = 150
ENDPOINTS = ["/api/v1/dashboard/summary/", "/api/v1/analytics/aarrr/?date_from=2026-10-01&date_to=2026-10-31"]
LUA = """
wrk.headers["Authorization"] = "Token %s"
done = function(summary, latency, requests)
  io.write(string.format('{"p50": %%f, "p95": %%f, "p99": %%f, "requests": %%d, "non2xx": %%d, "errors": %%d}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("This benchmark needs wrk: apt-get install wrk")
    url = synthetic_database(customers=1_000_000, events=10_000_000, days=90, log=lambda m: print(m, flush=True))
    env = {**{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SQLITE_PATH"}},
           "DATABASE_URL": url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "API_THROTTLE_USER": "10000000/min",
           "DJANGO_SETTINGS_MODULE": "ops_platform.settings", "DJANGO_LOG_LEVEL": "WARNING"}
    manage("compute_metrics", "--from", "2026-10-01", "--to", "2026-10-31", "--verbosity", "0",
           env={"DATABASE_URL": url})
    token = subprocess.run([PYTHON, "manage.py", "shell", "-c", (
        "from ops_platform.accounts.models import Staff; "
        "from ops_platform.accounts.services import api_token_create, staff_create; "
        "s = Staff.objects.filter(username='bench').first() or staff_create(username='bench', "
        "password='bench-pass-123', roles=['analyst']); print(api_token_create(user=s, name='bench')[1])")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([str(Path(PYTHON).with_name("gunicorn")), "ops_platform.wsgi", "-w", str(args.workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    script = Path(tempfile.mkdtemp()) / "auth.lua"
    script.write_text(LUA % token)
    rows = []
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        for endpoint in ENDPOINTS:
            runs = []
            for _ in range(args.runs):
                out = subprocess.run([wrk, "-t2", f"-c{args.clients}", f"-d{args.seconds}s", "-s", str(script),
                                      f"http://127.0.0.1:{port}{endpoint}"], capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(endpoint, runs[-1], flush=True)
            p50, p95, p99 = (median([r[key] for r in runs]) for key in ("p50", "p95", "p99"))
            rate = median([r["requests"] / args.seconds for r in runs])
            failed = sum(r["non2xx"] + r["errors"] for r in runs)
            rows.append(f"| `{endpoint}` | {p50:.0f} | {p95:.0f} | {p99:.0f} | {rate:.0f} | {failed} | "
                        f"{p95 / TARGET_MS:.2f} |")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return [
        "## Dashboard API under load",
        "",
        f"Machine: {machine()}. gunicorn with {args.workers} sync workers, `DJANGO_DEBUG=0`, the 10M-event synthetic "
        f"set; wrk with {args.clients} connections for {args.seconds} s per run on loopback (client and server share "
        f"the 2 cores); median of {args.runs} runs. Target: p95 ≤ {TARGET_MS} ms.",
        "",
        "| endpoint | p50 (ms) | p95 (ms) | p99 (ms) | requests/s | non-2xx or errors | p95 ratio to 150 ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]


if __name__ == "__main__":
    print("\n".join(main()))
