"""A dashboard of 8 tiles opened through HTTP at 10M events, cold and warm (insights issue).

Targets: ≤ 1 s warm, ≤ 5 s cold, 10M events / 1M customers (the synthetic set of ``_synthetic.py``, copied into its
own database ``insights_bench_10m`` so this branch's migrations and stored answers touch no other benchmark's data;
AARRR metrics computed and the event columns built, as after the nights).

The dashboard holds two funnels (5 steps over 90 days with a channel breakdown; 3 steps over October), two
retention tables (weekly over 90 days; daily over October), two golden-time grids and two AARRR overviews, each with
fixed dates. Measured as a browser opens it, against gunicorn as deployed (``--workers`` sync workers,
``DJANGO_DEBUG=0``, the static files collected into a temporary ``STATIC_ROOT`` and served by whitenoise, requests
carrying the TLS proxy's ``X-Forwarded-Proto: https`` so the secure session and CSRF cookies flow as behind it):

- **cold**: no stored answer (``insights_insightresult`` emptied): the page (its HTML, with the stored answers, here
  none) then every tile's ``/api/v1/dashboards/<id>/tiles/<tile>/result/`` fetched in parallel (6 at a time, as a
  browser does per host); the time until the last tile has its answer;
- **warm**: every answer stored and fresh: the page alone (it embeds them; nothing else is fetched), and the
  dashboard's ``results/`` API.

Median of ``--runs`` runs after one warm-up each.

    .venv/bin/python bench/insights_dashboard.py [--runs 5] [--workers 3] [--write]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from _common import BENCH_PG_ADMIN_URL, PYTHON, ROOT, database_url, machine, manage, median
from _synthetic import Spec, synthetic_database

DATABASE = "insights_bench_10m"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Dashboard of saved insights"
WARM_TARGET, COLD_TARGET = 1.0, 5.0
Q90 = {"date_from": ["2026-08-03"], "date_to": ["2026-10-31"]}
OCT = {"date_from": ["2026-10-01"], "date_to": ["2026-10-31"]}
TILES = [
    ("funnel", "5-step funnel, 90 days, by channel",
     {"steps": ["visit", "view_merchant", "add_to_cart", "order_paid", "order_received"], "window_days": ["14"],
      "breakdown": ["channel"], **Q90}),
    ("funnel", "Sign-up funnel, October", {"steps": ["visit", "signup", "order_paid"], "window_days": ["7"], **OCT}),
    ("retention", "Weekly retention, 90 days", {"cohort_event": ["visit"], "return_event": ["order_paid"],
                                                "period": ["week"], "periods": ["8"], **Q90}),
    ("retention", "Daily retention, October", {"cohort_event": ["signup"], "return_event": ["order_paid"],
                                               "period": ["day"], "periods": ["14"], **OCT}),
    ("golden_time", "Orders by hour, 90 days", {"event": ["order_paid"], **Q90}),
    ("golden_time", "Visits by hour, October", {"event": ["visit"], **OCT}),
    ("aarrr", "AARRR, 90 days", {**Q90}),
    ("aarrr", "AARRR wechat, October", {"channel": ["wechat"], **OCT}),
]


def prepared_database(log=print) -> str:
    """This benchmark's copy of the synthetic set, migrated, with metrics and event columns (made once)."""
    url = database_url(DATABASE)
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            if conn.execute("SELECT count(*) FROM bench_meta WHERE key = 'insights_prepared'").fetchone()[0]:
                log(f"reusing {DATABASE}")
                return url
    except psycopg.Error:
        pass
    source = synthetic_database(customers=1_000_000, events=10_000_000, days=90, log=log)
    template = Spec(customers=1_000_000, events=10_000_000, days=90).database
    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{template}"')
    log(f"copied {source.rsplit('/', 1)[1]} into {DATABASE}")
    env = {"DATABASE_URL": url}
    manage("migrate", "--no-input", env=env)
    manage("compute_metrics", "--from", "2026-08-01", "--to", "2026-10-31", env=env)
    manage("build_event_columns", env=env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("INSERT INTO bench_meta VALUES ('insights_prepared', 'yes')")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _ThroughProxy(http.cookiejar.DefaultCookiePolicy):
    """Secure cookies are sent on the plain hop from the TLS proxy to gunicorn."""

    def return_ok_secure(self, cookie, request):
        return True


class Browser:
    """A logged-in session (cookies, CSRF) and a token for the API, against the local server."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        # Behind the TLS proxy (X-Forwarded-Proto: https) the session and CSRF cookies are Secure; the jar sends them
        # back over this plain connection to gunicorn, as the proxy does, and the Referer is the https origin.
        self.jar = http.cookiejar.CookieJar(policy=_ThroughProxy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("X-Forwarded-Proto", "https")]
        self.origin = "https://" + urllib.parse.urlsplit(base).netloc
        page = self.opener.open(f"{base}/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        self.opener.open(urllib.request.Request(f"{base}/login/", data=data.encode(),
                                                headers={"Referer": f"{self.origin}/login/"}))
        if not any(cookie.name == "sessionid" for cookie in self.jar):
            raise RuntimeError(f"could not log in as {username}")

    def get(self, path: str) -> bytes:
        with self.opener.open(f"{self.base}{path}", timeout=120) as response:
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
            return response.read()

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        csrf = next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                                                  "Referer": f"{self.origin}/"})
        with self.opener.open(request, timeout=120) as response:
            return json.loads(response.read() or b"{}")


def open_dashboard(browser: Browser, dashboard_id: int, tile_ids: list[int]) -> tuple[float, int]:
    """The page, then each tile without an embedded answer fetched 6 at a time; (seconds, tiles fetched)."""
    started = time.perf_counter()
    page = browser.get(f"/insights/dashboards/{dashboard_id}/").decode()
    grid = json.loads(re.search(r'<script id="grid-data-\d+" type="application/json">(.*?)</script>', page, re.S)[1])
    missing = [tile["id"] for tile in grid["tiles"] if tile["result"] is None]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda tile: json.loads(browser.get(
            f"/api/v1/dashboards/{dashboard_id}/tiles/{tile}/result/")), missing))
    if any(answer["error"] for answer in answers):
        raise RuntimeError(f"a tile failed: {[a['error'] for a in answers if a['error']]}")
    return time.perf_counter() - started, len(missing)


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    url = prepared_database(log=lambda m: print(m, flush=True))
    manage("migrate", "--no-input", env={"DATABASE_URL": url})  # this branch's latest tables
    static_root = tempfile.mkdtemp(prefix="bench_static_")
    env = {**{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SQLITE_PATH"}},
           # Production settings: the pages' static files from collectstatic's manifest, as deployed.
           "DATABASE_URL": url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
           "STATIC_ROOT": static_root, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
           "API_THROTTLE_USER": "10000000/min", "DJANGO_SETTINGS_MODULE": "ops_platform.settings",
           "DJANGO_LOG_LEVEL": "WARNING", "DJANGO_CSRF_TRUSTED_ORIGINS": "https://127.0.0.1"}
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"], cwd=ROOT, env=env,
                   check=True)
    subprocess.run([PYTHON, "manage.py", "shell", "-c", (
        "from ops_platform.accounts.models import Staff; from ops_platform.accounts.services import staff_create; "
        "Staff.objects.filter(username='bench_insights').exists() or staff_create(username='bench_insights', "
        "password='bench-pass-123', roles=['analyst'])")], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(Path(PYTHON).with_name("gunicorn")), "ops_platform.wsgi", "-w", str(args.workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"],
                              cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        browser = Browser(base, "bench_insights", "bench-pass-123")
        dashboard = browser.api("POST", "/api/v1/dashboards/", {"name": f"Bench {secrets.token_hex(3)}"})
        tile_ids = []
        for kind, name, params in TILES:
            insight = browser.api("POST", "/api/v1/insights/", {"name": name, "kind": kind, "params": params})
            tile_ids.append(browser.api("POST", f"/api/v1/dashboards/{dashboard['id']}/tiles/",
                                        {"insight": insight["id"]})["id"])
        cold, warm_page, warm_api = [], [], []
        for run in range(args.runs + 1):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DELETE FROM insights_insightresult")
            seconds, fetched = open_dashboard(browser, dashboard["id"], tile_ids)
            assert fetched == len(TILES), fetched
            seconds_warm, fetched_warm = open_dashboard(browser, dashboard["id"], tile_ids)
            assert fetched_warm == 0, fetched_warm
            started = time.perf_counter()
            browser.get(f"/api/v1/dashboards/{dashboard['id']}/results/")
            seconds_api = time.perf_counter() - started
            print(f"run {run}: cold {seconds:.2f} s, warm page {seconds_warm:.3f} s, warm API {seconds_api:.3f} s",
                  flush=True)
            if run:  # the first is a warm-up
                cold.append(seconds)
                warm_page.append(seconds_warm)
                warm_api.append(seconds_api)
        with psycopg.connect(url) as conn:
            per_tile = conn.execute("SELECT kind, round(seconds::numeric, 2) FROM insights_insightresult "
                                    "ORDER BY seconds DESC").fetchall()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)
    rows = [
        f"| cold: page + 8 tiles computed (6 requests at a time) | {median(cold):.2f} | {COLD_TARGET:.0f} | "
        f"{median(cold) / COLD_TARGET:.2f} |",
        f"| warm: the page, every answer embedded | {median(warm_page):.3f} | {WARM_TARGET:.0f} | "
        f"{median(warm_page) / WARM_TARGET:.2f} |",
        f"| warm: `GET /api/v1/dashboards/<id>/results/` | {median(warm_api):.3f} | {WARM_TARGET:.0f} | "
        f"{median(warm_api) / WARM_TARGET:.2f} |",
    ]
    return [
        SECTION,
        "",
        f"Machine: {machine()}. `bench/insights_dashboard.py --runs {args.runs} --workers {args.workers}`: gunicorn "
        f"with {args.workers} sync workers, `DJANGO_DEBUG=0` (collected static files, secure cookies through the proxy "
        "header), "
        "the 10M-event synthetic set (1M customers, 90 days; "
        "AARRR metrics computed, event columns built), a dashboard of 8 tiles with fixed dates (two funnels, two "
        "retention tables, two golden-time grids, two AARRR overviews), opened through HTTP as a browser does; client "
        "and server "
        f"share the 2 cores. Median of {args.runs} runs after a warm-up. Load average (1 min) of the machine, which "
        f"other sessions share: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        "",
        "| open | seconds | target (s) | ratio to target |",
        "|---|---|---|---|",
        *rows,
        "",
        "Seconds per tile when computed in the last cold run (in the worker, in parallel with the others): "
        + ", ".join(f"{kind} {seconds}" for kind, seconds in per_tile) + ".",
    ]


def write(lines: list[str]) -> None:
    text = RESULTS.read_text()
    block = "\n".join(lines) + "\n"
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + block + ("" if end == -1 else text[end + 1:])
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


if __name__ == "__main__":
    output = main()
    print("\n".join(output))
    if "--write" in sys.argv:
        write(output)
