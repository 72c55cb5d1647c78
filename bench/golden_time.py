"""Golden time (the 7×24 grid of when an event happens, in local time) on PostgreSQL against DuckDB, same data.

The funnel benchmark's synthetic stream (``bench/funnel_retention.py``: 90 days, eight channels, microsecond
timestamps), loaded the same way into its own database (``opsbench_golden_<events>_v<N>``, kept with ``--keep``),
event columns built as the nightly job leaves them. Grid of ``visit`` over all 90 days, Asia/Shanghai. Timed, the
contenders alternating in every round, median of ``--runs`` rounds after a warm-up:

- ``counts``: what the API runs now for a grid without filters — the hourly counts per event name that the events
  table's triggers keep (``EventCountHourly``), each UTC hour placed in local time (packed days or not);
- ``columns``: counts per UTC quarter hour from the event columns, placed in local time (the API's path before the
  hourly counts, and still a filtered grid's in a zone whose days do not start on a whole UTC hour);
- ``sql``: the same per quarter hour, grouped in the database (the path of a filtered grid);
- ``sql (every event)``: each event converted with ``AT TIME ZONE`` (the engine before this change, kept as the
  fallback for a quarter hour that straddles two local hours);
- DuckDB: one ``GROUP BY`` of local weekday and hour, on 2 threads.

All five grids are compared.

    .venv/bin/python bench/golden_time.py [--sizes 1000000,10000000] [--runs 5] [--keep] [--write]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import funnel_retention as fr
from _common import BENCH_PG_ADMIN_URL, ROOT, database_url, django_on, machine, median, postgres_available

fr.DB_NAME = "opsbench_golden"  # its own kept database: the funnel benchmark may be loading its own meanwhile
EVENT = "visit"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Golden time"
CONTENDERS = ("counts", "columns", "sql", "sql (every event)", "DuckDB")


def duckdb_grid(con, start_utc: str, end_utc: str) -> list[list[int]]:
    rows = con.execute(
        f"SELECT isodow(ts + INTERVAL {fr.TZ_OFFSET_HOURS} HOUR) - 1, hour(ts + INTERVAL {fr.TZ_OFFSET_HOURS} HOUR), "
        "count(*) FROM events WHERE event = ? AND ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP GROUP BY ALL",
        [EVENT, start_utc, end_utc]).fetchall()
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, count in rows:
        grid[weekday][hour] = count
    return grid


def bench_size(n_events: int, runs: int, keep: bool) -> dict:
    from django.db import connections

    from analytics.services.golden_time import golden_time_compute
    from ops_platform.core.periods import local_range

    data = fr.generate(n_events, max(n_events // 10, 1000))
    connections.close_all()
    url, load_s = fr._postgres_with(data, n_events, keep)
    fr._columns_build(url)
    django_on(url)
    con, _ = fr.load_duckdb(data)
    date_from, date_to = fr.FIRST_DAY, fr.FIRST_DAY + timedelta(days=fr.DAYS - 1)
    start, end = local_range(date_from, date_to)
    utc = [moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") for moment in (start, end)]
    run = {name: (lambda engine=name: golden_time_compute(event=EVENT, date_from=date_from, date_to=date_to,
                                                          engine=engine)["matrix"])
           for name in CONTENDERS[:4]}
    run["DuckDB"] = lambda: duckdb_grid(con, *utc)
    grids = {name: call() for name, call in run.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(runs):
        for name in CONTENDERS:
            started = time.perf_counter()
            grids[name] = run[name]()
            times[name].append(time.perf_counter() - started)
    con.close()
    connections.close_all()
    same = all(grid == grids["DuckDB"] for grid in grids.values())
    if not same:
        print("DISAGREEMENT", grids, sep="\n", file=sys.stderr)
    return {"events": n_events, "times": times, "same": same, "total": sum(map(sum, grids["DuckDB"]))}


def report(results: list[dict], runs: int, load: str) -> list[str]:
    lines = [
        SECTION, "",
        f"Machine: {machine()}; {load}. The funnel benchmark's synthetic stream (90 days), grid of `{EVENT}` over all "
        f"of it in Asia/Shanghai, event columns built (`bench/golden_time.py`). Median of {runs} rounds after a "
        "warm-up, the contenders alternating in every round, seconds.", "",
        "| events | visits in the grid | " + " | ".join(CONTENDERS) + " | ours (counts) ÷ DuckDB | columns ÷ DuckDB "
        "| every event ÷ counts | same grid |",
        "|---|---|" + "---|" * len(CONTENDERS) + "---|---|---|---|",
    ]
    for r in results:
        m = {name: median(r["times"][name]) for name in CONTENDERS}
        lines.append(f"| {r['events']:,} | {r['total']:,} | " + " | ".join(f"{m[name]:.3f}" for name in CONTENDERS)
                     + f" | {m['counts'] / m['DuckDB']:.1f}× | {m['columns'] / m['DuckDB']:.1f}× "
                     + f"| {m['sql (every event)'] / m['counts']:.0f}× | "
                     + ("yes" if r["same"] else "NO") + " |")
    return lines


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep each size's database and reuse it next time")
    parser.add_argument("--write", action="store_true", help="write the section into bench/RESULTS.md")
    args = parser.parse_args()
    if not postgres_available():
        print(f"PostgreSQL at {BENCH_PG_ADMIN_URL} does not answer: nothing to measure.")
        return 1
    django_on(database_url(fr.DB_NAME))
    load_before = _load_average()
    results = [bench_size(int(size), args.runs, args.keep) for size in args.sizes.split(",")]
    load = f"load average {load_before} before, {_load_average()} after"
    lines = report(results, args.runs, load)
    print("\n".join(lines))
    if args.write:
        text = RESULTS.read_text(encoding="utf-8")
        body = "\n".join(lines) + "\n"
        pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(lambda _: body + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + body
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
