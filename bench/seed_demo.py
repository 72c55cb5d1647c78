"""How long `seed_demo` takes at its default size (foundation issue: at least 20,000 customers and 300,000
events over 90 days, made in under a minute). Each run starts from a freshly migrated, empty database.

    .venv/bin/python bench/seed_demo.py [--runs 3] [--customers 20000] [--days 90]
"""

from __future__ import annotations

import argparse
import sqlite3

from _common import machine, manage, median, postgres_available, scratch_postgres, scratch_sqlite, timed

TARGET_SECONDS = 60.0


def count_events(env: dict[str, str]) -> int:
    if "SQLITE_PATH" in env:
        with sqlite3.connect(env["SQLITE_PATH"]) as conn:
            return conn.execute("SELECT count(*) FROM analytics_event").fetchone()[0]
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM analytics_event").fetchone()[0]


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()

    engines = {"sqlite": scratch_sqlite}
    if postgres_available():
        engines["postgresql"] = lambda: {"DATABASE_URL": scratch_postgres("opsbench_seed")}
    lines = [
        "## seed_demo (default demo data set)",
        "",
        f"Machine: {machine()}. Data: {args.customers:,} customers over {args.days} days, seed 42, "
        f"fixed end date; median of {args.runs} runs, each into a freshly migrated empty database. "
        f"Reference: the foundation issue's target of {TARGET_SECONDS:.0f} s.",
        "",
        "| database | events | median (s) | runs (s) | events/s | ratio to the 60 s target |",
        "|---|---|---|---|---|---|",
    ]
    for name, make_env in engines.items():
        times, events = [], 0
        for _ in range(args.runs):
            env = make_env()
            manage("migrate", "--no-input", env=env)
            times.append(timed(lambda env=env: manage(
                "seed_demo", "--customers", str(args.customers), "--days", str(args.days), "--seed", "42",
                "--end", "2026-10-31", "--verbosity", "0", env=env)))
            events = count_events(env)
        mid = median(times)
        lines.append(f"| {name} | {events:,} | {mid:.1f} | {', '.join(f'{t:.1f}' for t in times)} | "
                     f"{events / mid:,.0f} | {mid / TARGET_SECONDS:.2f} |")
        print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
