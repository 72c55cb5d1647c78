"""Nightly merchant metrics: one week for 10,000 merchants over the synthetic event set (1M and 10M events).

What the nightly task runs (``merchant_metrics_compute``): two grouped queries over the week's events through
analytics' selectors (orders per merchant and customer, then per merchant; reviews per merchant), one more for
the previous week's orders, vectorised pandas for rates, health scores and tiers, then the week's snapshot rows
replaced and tiers updated in bulk. Median of --runs runs; the first run records the tier changes, later ones
replace the same week (idempotent) — both are timed.

The synthetic database (bench/_synthetic.py) is built by the analytics migrations only: this script applies the
merchants migrations to it and adds the 10,000 merchants M00001…M10000 its ``order_paid`` events name, and puts
it back as found when done (merchants migrations reversed to 0001, the merchants removed).

    .venv/bin/python bench/merchant_metrics.py [--runs 3] [--sizes 1000000,10000000] [--keep]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

from _common import django_on, machine, manage, median
from _synthetic import synthetic_database

MERCHANTS = 10_000
WEEK = date(2026, 10, 19)  # a Monday; the synthetic set ends on 2026-10-31 (local), so this week is complete


def merchants_ensure() -> None:
    from merchants.models import Merchant

    Merchant.objects.bulk_create([
        Merchant(code=f"M{i:05d}", name=f"Bench merchant {i}", category="food", city="Shanghai",
                 stage=Merchant.Stage.LIVE) for i in range(1, MERCHANTS + 1)], batch_size=2000, ignore_conflicts=True)


def put_back(url: str) -> None:
    from django.db import connections

    from merchants.models import Merchant

    Merchant.objects.filter(code__startswith="M", name__startswith="Bench merchant ").delete()
    connections.close_all()
    manage("migrate", "merchants", "0001", "--no-input", env={"DATABASE_URL": url})


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--keep", action="store_true", help="leave the merchants tables in the synthetic database")
    args = parser.parse_args()
    lines = [
        "## Merchant metrics",
        "",
        f"Machine: {machine()}. Synthetic data (bench/_synthetic.py): customers = events / 10, 90 days, "
        f"{MERCHANTS:,} merchants named on `order_paid`, PostgreSQL 15 with default settings (shared with other "
        f"work). One week (week of {WEEK}) for every merchant: `merchant_metrics_compute` in process, what the "
        f"nightly task runs — orders, GMV, customers, repeat-customer rate, reviews, ratings, low-rating share, "
        f"week over week, health score and tier, snapshot rows replaced, tier changes recorded. Median of "
        f"{args.runs} runs (the first records a tier change for every merchant; later ones replace the same week "
        "and change nothing). The issue sets no time target.",
        "",
        "| events | order_paid in the week | merchants | nightly run, median (s) | runs (s) | "
        "the three event queries alone (s) | tier changes (first run) |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        url = synthetic_database(customers=size // 10, events=size, days=90, log=lambda m: print(m, flush=True))
        manage("migrate", "merchants", "--no-input", env={"DATABASE_URL": url})
        django_on(url)
        from analytics import selectors as analytics
        from merchants.models import MerchantMetricsRun
        from merchants.services.metrics import _local, merchant_metrics_compute

        try:
            merchants_ensure()
            runs, changes = [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                run = merchant_metrics_compute(period_start=WEEK, through=WEEK + timedelta(days=6))
                runs.append(time.perf_counter() - started)
                changes = run.tier_changes if changes is None else changes
            started = time.perf_counter()
            orders = analytics.merchant_order_aggregates(start=_local(WEEK), end=_local(WEEK + timedelta(days=7)))
            analytics.merchant_review_aggregates(start=_local(WEEK), end=_local(WEEK + timedelta(days=7)))
            analytics.merchant_order_aggregates(start=_local(WEEK - timedelta(days=7)), end=_local(WEEK))
            queries = time.perf_counter() - started
            merchants = MerchantMetricsRun.objects.get(period_start=WEEK).merchants
            value = median(runs)
            lines.append(f"| {size:,} | {int(orders['orders'].sum()):,} | {merchants:,} | {value:.2f} | "
                         f"{', '.join(f'{r:.2f}' for r in runs)} | {queries:.2f} | {changes:,} |")
            print(lines[-1], flush=True)
        finally:
            if not args.keep:
                put_back(url)
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
