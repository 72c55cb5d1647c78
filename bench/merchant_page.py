"""The merchant page's analytics at the benchmark event set: one merchant's daily order trend (28 days), the funnel
of its customers (view_merchant → add_to_cart → order_paid, 7-day window) and the weekly retention of its buyers
(6 cohorts) — ``merchants.overview.merchant_analytics``, what every merchant page computes when it opens.

Runs in process against the shared synthetic PostgreSQL set (bench/_synthetic.py): the merchant is an unsaved
``Merchant`` carrying only its code (the analytics read events only), so no merchants table is migrated in. Each
run takes another merchant (M00001, M05000, M09999, …: a cold merchant each time); the median of --runs runs is
reported with each part timed on its own, and the 1-minute load average. Measured twice: as the set was built
(without analytics migration 0007's merchant index) and with it — the script applies 0007 to the shared set, times
the index build, and puts the set back as found (analytics migrated back to 0006, the index dropped).

    .venv/bin/python bench/merchant_page.py [--runs 3] [--sizes 10000000]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from _common import django_on, machine, manage, median
from _synthetic import synthetic_database

CODES = ["M00001", "M05000", "M09999", "M02500", "M07500", "M00777"]
BEFORE, AFTER = "0006_event_counts", "0007_event_merchant_index"


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000000")
    args = parser.parse_args()
    rows = []
    loads = []
    for size in (int(s) for s in args.sizes.split(",")):
        url = synthetic_database(customers=size // 10, events=size, days=90, log=lambda m: print(m, flush=True))
        django_on(url)
        from analytics import selectors as analytics
        from merchants.models import Merchant
        from merchants.overview import FUNNEL_STEPS, TREND_DAYS, _local, merchant_analytics

        manage("migrate", "analytics", BEFORE, "--no-input", env={"DATABASE_URL": url})
        try:
            for label, offset in (("without the merchant index", 0), ("with the merchant index", args.runs)):
                if offset:
                    started = time.perf_counter()
                    manage("migrate", "analytics", AFTER, "--no-input", env={"DATABASE_URL": url})
                    built = time.perf_counter() - started
                    label += f" (built in {built:.0f} s)"
                parts: dict[str, list[float]] = {"total": [], "trend": [], "funnel": [], "retention": [],
                                                 "funnel with entrants": []}
                answers = []
                for run in range(args.runs):
                    code = CODES[(run + offset) % len(CODES)]
                    loads.append(os.getloadavg()[0])
                    started = time.perf_counter()
                    result = merchant_analytics(merchant=Merchant(code=code))
                    parts["total"].append(time.perf_counter() - started)
                    answers.append((code, sum(result["trend"]["orders"]), [s["count"] for s in result["funnel"]],
                                    sum(c["size"] for c in result["retention"])))
                    last = result["date_to"]
                    first = last - timedelta(days=TREND_DAYS - 1)
                    started = time.perf_counter()
                    analytics.merchant_daily_orders(merchant=code, start=_local(first),
                                                    end=_local(last + timedelta(days=1)))
                    parts["trend"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    analytics.funnel_compute(steps=FUNNEL_STEPS, window_days=7, date_from=first, date_to=last,
                                             property_filter=("merchant_id", code), filter_every_step=True)
                    parts["funnel"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    analytics.retention_compute(cohort_event="order_paid", return_event="order_paid",
                                                period="week", date_from=last - timedelta(days=7 * 6 - 1),
                                                date_to=last, periods=6, property_filter=("merchant_id", code))
                    parts["retention"].append(time.perf_counter() - started)
                    # The synthetic set names merchants on order_paid only, so the page's funnel has no entrants
                    # there; this one enters at the merchant's orders and follows them (unfiltered) to the
                    # customers' next events: the joins a funnel with entrants costs.
                    started = time.perf_counter()
                    entered = analytics.funnel_compute(steps=["order_paid", "order_received", "review"],
                                                       window_days=7, date_from=first, date_to=last,
                                                       property_filter=("merchant_id", code))
                    parts["funnel with entrants"].append(time.perf_counter() - started)
                    answers[-1] = (*answers[-1], [s["count"] for s in entered["steps"]])
                    print(code, {k: round(v[-1], 3) for k, v in parts.items()}, answers[-1], flush=True)
                rows.append(
                    f"| {size:,} | {label} | {median(parts['total']):.2f} | "
                    f"{', '.join(f'{v:.2f}' for v in parts['total'])} | {median(parts['trend']):.2f} | "
                    f"{median(parts['funnel']):.2f} | {median(parts['retention']):.2f} | "
                    f"{median(parts['funnel with entrants']):.2f} | "
                    + "; ".join(f"{c}: {o} orders, funnel {f}, {r} new buyers, order funnel {e}"
                                for c, o, f, r, e in answers) + " |")
                print(rows[-1], flush=True)
        finally:
            from django.db import connections

            connections.close_all()
            manage("migrate", "analytics", BEFORE, "--no-input", env={"DATABASE_URL": url})
    lines = [
        "## Merchant page analytics",
        "",
        f"Machine: {machine()}; PostgreSQL 15 with default settings, shared with other work (1-minute load average "
        f"{min(loads):.1f}–{max(loads):.1f} during the runs). Synthetic data (bench/_synthetic.py, v3): customers = "
        "events / 10, 90 days, 10,000 merchants named on `order_paid` (about 100 orders each over 90 days at 10M). "
        "`bench/merchant_page.py`: `merchant_analytics` for one merchant, what the merchant page computes — daily "
        "orders and GMV over 28 days, the funnel view_merchant → add_to_cart → order_paid (7-day window) of the "
        "customers who viewed it, weekly retention of its buyers (6 cohorts). Each run a different merchant; median "
        f"of {args.runs} runs; the parts are timed again on their own after each run.",
        "",
        "| events | index | page analytics, median (s) | runs (s) | trend (s) | funnel (s) | retention (s) | "
        "order_paid → order_received → review from its orders (s) | answers |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
