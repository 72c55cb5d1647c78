"""Nightly AARRR refresh: one day's rows, and a 90-day backfill, at 1M and 10M events of history.

Targets (analytics issue): one day under 5 s at 10M events of history; a 90-day backfill under 2 minutes.
Runs in process against the synthetic PostgreSQL data set (bench/_synthetic.py), median of --runs runs.

    .venv/bin/python bench/aarrr_nightly.py [--runs 3] [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

from _common import django_on, machine, median
from _synthetic import synthetic_database

DAY_TARGET, BACKFILL_TARGET = 5.0, 120.0


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000000,10000000")
    args = parser.parse_args()
    lines = [
        "## Nightly AARRR refresh",
        "",
        f"Machine: {machine()}. Synthetic data (bench/_synthetic.py): customers = events / 10, 90 days, eight "
        f"channels, PostgreSQL 15 with default settings. Median of {args.runs} runs, in process "
        "(`metrics_run_execute`, what the nightly task runs). Targets: one day ≤ 5 s at 10M; 90 days ≤ 120 s.",
        "",
        "| events | one day (s) | ratio to 5 s | 90-day backfill, one process (s) | ratio to 120 s | rows |",
        "|---|---|---|---|---|---|",
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        url = synthetic_database(customers=size // 10, events=size, days=90, log=lambda m: print(m, flush=True))
        django_on(url)
        from analytics.services.metrics import date_chunks, metrics_run_execute

        last_day = date(2026, 10, 31)
        days, backfills, rows = [], [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            metrics_run_execute(date_from=last_day, date_to=last_day)
            days.append(time.perf_counter() - started)
        for _ in range(args.runs):
            started = time.perf_counter()
            rows = sum(metrics_run_execute(date_from=f, date_to=t).rows
                       for f, t in date_chunks(date_from=last_day - timedelta(days=89), date_to=last_day))
            backfills.append(time.perf_counter() - started)
        day, backfill = median(days), median(backfills)
        lines.append(f"| {size:,} | {day:.2f} | {day / DAY_TARGET:.2f} | {backfill:.1f} | "
                     f"{backfill / BACKFILL_TARGET:.2f} | {rows:,} |")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
