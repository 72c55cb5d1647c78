"""What analytics migration 0007's merchant index costs at ingestion: ``events_load`` (the one write path: binary
COPY into a staging table, then INSERT with the people and counts kept) of batches of 1,000 canonical events,
half of them naming a merchant (view_merchant, add_to_cart, order_paid, review), into a scratch PostgreSQL database
already holding --base events, with and without the index. Median of --runs runs of --batches batches each; the
two variants alternate.

    .venv/bin/python bench/merchant_index_ingest.py [--runs 3] [--batches 100] [--base 500000]
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from _common import BENCH_PG_ADMIN_URL, django_on, machine, manage, median, scratch_postgres

NAMES = ["visit", "signup", "view_merchant", "add_to_cart", "order_paid", "order_received", "review"]
SHARE = [0.34, 0.05, 0.24, 0.14, 0.10, 0.09, 0.04]
START = datetime(2026, 8, 1, tzinfo=UTC)


def rows(count: int, rng: random.Random):
    from analytics.services.loading import EventRow

    for _ in range(count):
        name = rng.choices(NAMES, SHARE)[0]
        properties = {"channel": "wechat"} if name == "visit" else {}
        if name in ("view_merchant", "add_to_cart", "order_paid", "review"):
            properties["merchant_id"] = f"M{rng.randint(1, 10_000):05d}"
        if name == "order_paid":
            properties.update(order_id=uuid.uuid4().hex, amount=round(rng.lognormvariate(3.6, 0.5), 2))
        yield EventRow(uuid=uuid.UUID(int=rng.getrandbits(128)), event=name,
                       distinct_id=f"u{rng.randint(1, 200_000):08d}",
                       timestamp=START + timedelta(seconds=rng.randint(0, 90 * 86400)), properties=properties)


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--base", type=int, default=500_000)
    args = parser.parse_args()
    url = scratch_postgres("opsbench_merchant_index_ingest")
    manage("migrate", "--no-input", env={"DATABASE_URL": url})
    django_on(url)
    from django.db import connection

    from analytics.services.loading import events_load

    index = importlib.import_module("analytics.migrations.0007_event_merchant_index")
    rng = random.Random(20261125)
    for _ in range(0, args.base, 10_000):
        events_load(list(rows(10_000, rng)))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_event")
    times: dict[str, list[float]] = {"without": [], "with": []}
    loads = []
    for run in range(args.runs):
        for variant in (("with", "without") if run % 2 else ("without", "with")):
            with connection.cursor() as cursor:
                cursor.execute(index.CREATE if variant == "with" else index.DROP)
            batches = [list(rows(1000, rng)) for _ in range(args.batches)]
            loads.append(os.getloadavg()[0])
            started = time.perf_counter()
            for batch in batches:
                events_load(batch)
            times[variant].append(args.batches * 1000 / (time.perf_counter() - started))
            print(variant, round(times[variant][-1]), flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_event")
        total = cursor.fetchone()[0]
    connection.close()
    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute('DROP DATABASE IF EXISTS "opsbench_merchant_index_ingest" WITH (FORCE)')
    without, with_index = median(times["without"]), median(times["with"])
    return [
        "### What the merchant index costs at ingestion",
        "",
        f"Machine: {machine()}; PostgreSQL 15 (shared; 1-minute load average {min(loads):.1f}–{max(loads):.1f}). "
        f"`bench/merchant_index_ingest.py`: `events_load` of {args.batches} batches of 1,000 canonical events "
        f"(about half naming a merchant) into a scratch database that held {args.base:,} events at the start "
        f"({total:,} at the end), with and without `event_merchant_ts`, alternating; median of {args.runs} runs.",
        "",
        "| variant | events/s, median | runs (events/s) |",
        "|---|---|---|",
        f"| without the merchant index | {without:,.0f} | {', '.join(f'{v:,.0f}' for v in times['without'])} |",
        f"| with the merchant index | {with_index:,.0f} | {', '.join(f'{v:,.0f}' for v in times['with'])} |",
        "",
        f"With the index: {with_index / without:.2f}× the rate without it.",
    ]


if __name__ == "__main__":
    print("\n".join(main()))
