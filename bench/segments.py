"""Customer refresh and segment rebuilds at 1,000,000 customers (10M events of history).

Issue 5 asks for segments over 1M customers built "in seconds, not minutes". Runs in process against the shared
synthetic PostgreSQL data set (bench/_synthetic.py), median of --runs runs. The users tables are migrated into the
synthetic database for the run and removed again afterwards (``migrate users zero``), so the shared set is left
as it was found. Person facts (first-touch channel) are read as they are: a set loaded with COPY has them only
after ``person_facts_rebuild``.

    .venv/bin/python bench/segments.py [--runs 3] [--customers 1000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from _common import machine, manage, median
from _synthetic import synthetic_database
from aarrr_nightly import django_on

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
SEGMENTS = [
    ("field: stage in (active, at_risk)", {"op": "and", "conditions": [
        {"field": "stage", "operator": "in", "value": ["active", "at_risk"]}]}),
    ("behaviour: order_paid >= 2 in 30 days", {"op": "and", "conditions": [
        {"event": "order_paid", "operator": "gte", "value": 2, "days": 30}]}),
    ("nested: (channel or RFM) and no review, spend >= 50", {"op": "and", "conditions": [
        {"op": "or", "conditions": [{"field": "first_channel", "operator": "in", "value": ["wechat", "douyin"]},
                                    {"field": "rfm_segment", "operator": "in", "value": ["champions", "loyal"]}]},
        {"event": "review", "operator": "eq", "value": 0},
        {"field": "spend", "operator": "gte", "value": 50}]}),
    ("everyone", {"op": "and", "conditions": []}),
]


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    customers = args.customers
    url = synthetic_database(customers=customers, events=customers * 10, days=90, log=lambda m: print(m, flush=True))
    manage("migrate", "users", "--no-input", env={"DATABASE_URL": url})
    try:
        django_on(url)
        from users.models import Customer, Segment
        from users.services.customers import customers_refresh
        from users.services.segments import segment_preview, segment_rebuild, segment_save

        refreshes = []
        for _ in range(args.runs):
            started = time.perf_counter()
            customers_refresh(trigger="bench", now=NOW)
            refreshes.append(time.perf_counter() - started)
            print(f"refresh {refreshes[-1]:.1f} s", flush=True)
        total = Customer.objects.count()
        lines = [
            "## Customers and segments",
            "",
            f"Machine: {machine()}. Synthetic data (bench/_synthetic.py): {customers:,} customers, {customers * 10:,} "
            f"events over 90 days, PostgreSQL 15 with default settings (`work_mem` 256/128 MB set for the "
            f"transaction). Median of {args.runs} runs, in process (`customers_refresh`, `segment_rebuild`: what "
            "the nightly task and the Rebuild button run). `bench/segments.py`.",
            "",
            f"Customer refresh (upsert of every customer from the grouped events, life-cycle stage, RFM quintiles, "
            f"stage counts and flows, one transaction): **{median(refreshes):.1f} s** for {total:,} customers "
            f"(runs: {', '.join(f'{r:.1f}' for r in refreshes)}).",
            "",
            "| segment | members | rebuild (s) | live preview count (s) |",
            "|---|---|---|---|",
        ]
        Segment.objects.filter(name__startswith="bench:").delete()
        for name, rules in SEGMENTS:
            segment = segment_save(name=f"bench: {name}"[:120], rules=rules)
            builds, previews = [], []
            for _ in range(args.runs):
                started = time.perf_counter()
                segment = segment_rebuild(segment_id=segment.pk, now=NOW)
                builds.append(time.perf_counter() - started)
                started = time.perf_counter()
                segment_preview(rules=rules)
                previews.append(time.perf_counter() - started)
            lines.append(f"| {name} | {segment.size:,} | {median(builds):.2f} | {median(previews):.2f} |")
            print(lines[-1], flush=True)
        return lines
    finally:
        from django.db import connections

        connections.close_all()
        manage("migrate", "users", "zero", "--no-input", env={"DATABASE_URL": url})


if __name__ == "__main__":
    started_at = time.perf_counter()
    output = main()
    print("\n".join(output))
    print(f"(whole benchmark {time.perf_counter() - started_at:.0f} s)")
