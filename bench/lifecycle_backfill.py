"""Peak memory of the life-cycle history backfill: ~100,000 customers × 365 days (issue 5 review).

Builds (once; reused when present) a scratch PostgreSQL database ``opsbench_lifecycle_<customers>`` with events
generated in SQL: every customer first seen within the first 20 days, then active on ~1 day in 12 over the year
(visits, an order on a third of the active days). Then runs ``backfill_lifecycle --replace --to <day after the
last>`` under ``/usr/bin/time -v`` in a fresh process from a source tree (``--tree``: this checkout, or an export of
the "before" commit) and prints the peak RSS, wall time and a digest of the rows written (equal digests = equal
answers).

    .venv/bin/python bench/lifecycle_backfill.py [--customers 100000] [--tree /tmp/before] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
from pathlib import Path

from _common import PYTHON, ROOT, database_url, machine, manage, postgres_available, scratch_postgres

DAYS = 365
FIRST = "2025-11-01"
TO = "2026-11-02"  # the refresh day after the last day with events (2026-10-31 + room)


def _build(url: str, customers: int) -> None:
    import psycopg

    env = {"DATABASE_URL": url}
    manage("migrate", "--noinput", env=env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        conn.execute(f"""
            INSERT INTO analytics_person (id, distinct_id, created_at)
            SELECT g, 'c' || g, now() FROM generate_series(1, {customers}) g""")
        conn.execute(f"""
            INSERT INTO analytics_event (uuid, event, distinct_id, person_id, timestamp, channel, properties,
                                         received_at)
            SELECT gen_random_uuid(), CASE WHEN (p * 7 + d) % 3 = 0 THEN 'order_paid' ELSE 'visit' END, 'c' || p, p,
                   TIMESTAMPTZ '{FIRST} 10:00+08' + make_interval(days => d), '', '{{}}'::jsonb, now()
            FROM generate_series(1, {customers}) p
            CROSS JOIN LATERAL generate_series(p % 20, {DAYS - 1}) d
            WHERE d = p % 20 OR (p * 31 + d * 17) % 12 = 0""")
        conn.execute("ANALYZE analytics_event")


def _digest(url: str) -> tuple[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        daily = conn.execute("SELECT date, stage, customers FROM users_stagedaily ORDER BY 1, 2").fetchall()
        flows = conn.execute("SELECT date, from_stage, to_stage, customers FROM users_stageflow ORDER BY 1, 2, 3")\
            .fetchall()
    return hashlib.sha256(repr((daily, flows)).encode()).hexdigest()[:16], len(daily) + len(flows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to run (default: this checkout)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if not postgres_available():
        raise SystemExit("needs PostgreSQL (BENCH_PG_URL)")
    name = f"opsbench_lifecycle_{args.customers}"
    url = database_url(name)
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            events = conn.execute("SELECT COUNT(*) FROM analytics_event").fetchone()[0]
    except psycopg.Error:
        events = 0
    if args.rebuild or not events:
        url = scratch_postgres(name)
        _build(url, args.customers)
        with psycopg.connect(url) as conn:
            events = conn.execute("SELECT COUNT(*) FROM analytics_event").fetchone()[0]
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "SQLITE_PATH", "CI"}}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="ops_platform.settings")
    run = subprocess.run(["/usr/bin/time", "-v", PYTHON, "manage.py", "backfill_lifecycle", "--replace", "--to", TO]
                         if (args.tree / "users/management/commands/backfill_lifecycle.py").read_text().count(
                             "--replace") else
                         ["/usr/bin/time", "-v", PYTHON, "manage.py", "backfill_lifecycle", "--to", TO],
                         cwd=args.tree, env=env, capture_output=True, text=True, check=True)
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", run.stderr).group(1)
    digest, rows = _digest(url)
    print(machine())
    print(f"{args.customers:,} customers, {events:,} events over {DAYS} days; tree {args.tree}")
    print(run.stdout.strip())
    print(f"peak RSS {peak_kib / 1024:,.0f} MiB, wall {wall}, rows {rows:,}, digest {digest}")


if __name__ == "__main__":
    main()
