"""Ingestion through the tracking SDKs' endpoints against the batch API, and the identity merges' cost.

The same synthetic events (bench/ingest_http.py) are sent, run after run from an empty table, through:

- ``POST /api/v1/events/batch/`` (the reference);
- Segment's ``/v1/batch`` (basic-auth write key; ``messageId``, ``userId``, ``context``, as analytics.js sends them);
- PostHog's ``/batch/`` (``api_key`` in the body), plain and gzip (as posthog-python sends it with ``gzip=True``);
- Segment's ``/v1/batch`` with identity: a fifth of the customers browse under an anonymous id until their first
  sign-up, which comes with an ``identify`` linking the two (a merge re-pointing the anonymous events).

Paths alternate within each run so that the machine's drift hits them alike. Loopback only, bounded loops. Writes its
section of bench/RESULTS.md (``## Tracking SDK endpoints``) unless ``--no-write``.

    .venv/bin/python bench/ingest_sdk.py [--runs 3] [--events 200000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import os
import runpy
import signal
import sys

import orjson
import psycopg
from _common import (
    ROOT,
    ingest_server_env,
    machine,
    manage,
    median,
    postgres_available,
    scratch_postgres,
    send_bodies,
    start_gunicorn,
    write_results_section,
)
from ingest_http import count_events, cpu_snapshot, cpu_spent, reset, synthetic_events

SECTION = "## Tracking SDK endpoints"


def segment_message(event: dict, *, anonymous: bool) -> dict:
    who = {"anonymousId": "anon-" + event["distinct_id"]} if anonymous else {"userId": event["distinct_id"]}
    properties = dict(event["properties"])
    context = {"library": {"name": "analytics.js", "version": "next-1.70.0"}}
    kind, name = "track", event["event"]
    if name == "visit":
        kind = "page"
        context["campaign"] = {"source": properties.pop("utm_source"), "medium": properties.pop("utm_medium"),
                               "name": properties.pop("utm_campaign")}
    message = {"type": kind, "messageId": event["uuid"], "timestamp": event["timestamp"], "properties": properties,
               "context": context, **who}
    if kind == "track":
        message["event"] = name
    return message


def segment_bodies(events: list[dict], batch: int, *, identity: bool) -> tuple[list[bytes], int]:
    """Segment batches; with ``identity`` a fifth of the customers are anonymous until their first sign-up (in time
    order), sent with an identify. Returns the bodies and the number of identify messages."""
    anonymous_until: dict[str, str] = {}
    if identity:
        for event in sorted(events, key=lambda e: e["timestamp"]):
            who = event["distinct_id"]
            if hash(who) % 5 == 0 and event["event"] == "signup" and who not in anonymous_until:
                anonymous_until[who] = event["timestamp"]
    bodies, links = [], 0
    for first in range(0, len(events), batch):
        messages = []
        for event in events[first:first + batch]:
            until = anonymous_until.get(event["distinct_id"])
            anonymous = identity and hash(event["distinct_id"]) % 5 == 0 and (
                until is None or event["timestamp"] < until)
            messages.append(segment_message(event, anonymous=anonymous))
            if until is not None and event["timestamp"] == until and event["event"] == "signup":
                links += 1
                messages.append({"type": "identify", "userId": event["distinct_id"],
                                 "anonymousId": "anon-" + event["distinct_id"], "timestamp": event["timestamp"],
                                 "messageId": event["uuid"][:-4] + "beef", "traits": {}})
        bodies.append(orjson.dumps({"batch": messages, "sentAt": "2026-11-24T16:00:00Z"}))
    return bodies, links


def posthog_bodies(events: list[dict], batch: int, raw_key: str, *, compress: bool) -> list[bytes]:
    names = {"visit": "$pageview"}
    bodies = []
    for first in range(0, len(events), batch):
        chunk = [{"event": names.get(e["event"], e["event"]), "distinct_id": e["distinct_id"], "uuid": e["uuid"],
                  "timestamp": e["timestamp"], "properties": {**e["properties"], "$lib": "posthog-python"}}
                 for e in events[first:first + batch]]
        body = orjson.dumps({"api_key": raw_key, "batch": chunk, "sent_at": "2026-11-24T16:00:00Z"})
        bodies.append(gzip.compress(body) if compress else body)
    return bodies


def merged(database_url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*), coalesce(sum(events), 0) FROM analytics_personmerge").fetchone()


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--database", default="opsbench_ingest_sdk", help="The scratch database (dropped first).")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]
    if args.clients is None:
        args.clients = args.workers + 3
    if not postgres_available():
        sys.exit("PostgreSQL is not reachable (BENCH_PG_URL): this benchmark needs it.")
    database_url = scratch_postgres(args.database)
    env = {"DATABASE_URL": database_url}
    manage("migrate", "--no-input", env=env)
    raw_key = manage("create_ingest_key", "bench", env=env).stdout.rstrip("\n").splitlines()[-1]
    server_env = ingest_server_env(env, API_THROTTLE_INGEST="1000000/min")
    events = synthetic_events(args.events, customers=args.customers, seed=42)
    basic = "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()
    json_headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
    identity_bodies, links = segment_bodies(events, args.batch, identity=True)
    paths = {
        "`POST /api/v1/events/batch/`": ("/api/v1/events/batch/", {**json_headers, "X-Ingest-Key": raw_key},
                                         [orjson.dumps({"batch": events[i:i + args.batch]})
                                          for i in range(0, len(events), args.batch)]),
        "Segment `/v1/batch`": ("/api/v1/ingest/segment/v1/batch", {**json_headers, "Authorization": basic},
                                segment_bodies(events, args.batch, identity=False)[0]),
        "PostHog `/batch/`": ("/api/v1/ingest/posthog/batch/", json_headers,
                              posthog_bodies(events, args.batch, raw_key, compress=False)),
        "PostHog `/batch/`, gzip": ("/api/v1/ingest/posthog/batch/", {**json_headers, "Content-Encoding": "gzip"},
                                    posthog_bodies(events, args.batch, raw_key, compress=True)),
        f"Segment `/v1/batch` with identity ({links:,} identify, merged)": (
            "/api/v1/ingest/segment/v1/batch", {**json_headers, "Authorization": basic}, identity_bodies),
    }
    rates: dict[str, list[float]] = {name: [] for name in paths}
    cpu_ms: dict[str, list[float]] = {name: [] for name in paths}  # server side (gunicorn + PostgreSQL) per 1,000
    merges: list[tuple[int, int]] = []
    server = start_gunicorn(server_env, args.port, args.workers)
    load_before = os.getloadavg()[0]
    try:
        for run in range(args.runs):
            for name, (path, headers, bodies) in paths.items():
                reset(database_url)
                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute("TRUNCATE analytics_personmerge, analytics_personfacts")
                before = cpu_snapshot(server.pid, database_url)
                elapsed, accepted, failures, _cpu = send_bodies(args.port, path, headers, bodies, args.clients)
                spent = cpu_spent(before, cpu_snapshot(server.pid, database_url))
                cpu_ms[name].append((spent["server"] + spent["database"]) * 1000 / args.events * 1000)
                stored = count_events(database_url)
                expected = args.events + (links if "identity" in name else 0)
                if failures or stored != expected:
                    raise RuntimeError(f"{name}: {failures} failed, {accepted:,} accepted, {stored:,} stored")
                rates[name].append(args.events / elapsed)
                if "identity" in name:
                    merges.append(merged(database_url))
                print(f"run {run + 1} {name}: {args.events / elapsed:,.0f} events/s ({elapsed:.1f} s), server CPU "
                      f"{cpu_ms[name][-1]:.0f} ms per 1,000, load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    load_after = os.getloadavg()[0]
    batch_api = "`POST /api/v1/events/batch/`"
    lines = [
        SECTION, "",
        f"Machine: {machine()}; gunicorn ({args.workers} sync workers, DEBUG off) and PostgreSQL on 127.0.0.1, "
        f"{args.clients} client processes (1-minute load average {load_before:.1f} at the start, {load_after:.1f} at "
        f"the end; the machine is shared). "
        f"Data: {args.events:,} synthetic canonical events of {args.customers:,} customers (bench/ingest_http.py), "
        f"batches of {args.batch:,}, each path from an empty events table; paths alternate within each run.", "",
        "Ratios: each run's rate over the same run's batch API rate (paired, the paths alternate), median of the "
        "runs; server CPU: the gunicorn workers' and their PostgreSQL backends' CPU time (from /proc, as in "
        "bench/ingest_http.py) per 1,000 events, which moves less than the wall clock with other work on the "
        "machine.", "",
        "| path | median events/s | ratio to the batch API (runs) | server CPU ms per 1,000 events (runs) | "
        "CPU ratio to the batch API |", "|---|---|---|---|---|",
    ]
    reference_cpu = median(cpu_ms[batch_api])
    for name, values in rates.items():
        ratios = [value / base for value, base in zip(values, rates[batch_api], strict=True)]
        lines.append(f"| {name} | {median(values):,.0f} | {median(ratios):.2f} "
                     f"({', '.join(f'{r:.2f}' for r in ratios)}) | {median(cpu_ms[name]):.0f} "
                     f"({', '.join(f'{c:.0f}' for c in cpu_ms[name])}) | {median(cpu_ms[name]) / reference_cpu:.2f} |")
    if merges:
        lines += ["", f"Identity run: {merges[-1][0]:,} merges re-pointed {merges[-1][1]:,} anonymous events "
                      f"({links:,} identify messages, one per anonymous customer's first sign-up)."]
    lines += ["", f"Command: `.venv/bin/python bench/ingest_sdk.py --runs {args.runs} --events {args.events}`."]
    if not args.no_write:
        write_results_section(SECTION, lines)
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
