"""What identity merges cost: the merges themselves, and the funnel right after them and after the nightly build.

The synthetic stream of bench/funnel_retention.py (5-step funnel, 14-day window, 90 days, breakdown by channel) is
loaded into a scratch database; then a share of the customers (``--share``) is made to have browsed anonymously: their
``visit`` events are moved to a cookie id of their own, and the facts and the event columns are rebuilt (the night
before). Timed, median of ``--runs``:

1. the funnel with the visitors split (it counts them apart);
2. ``identities_link`` of every cookie id to its customer — one merge each, through the service the SDK endpoints call;
3. the funnel right after the merges: every day whose events a merge re-pointed is read from the events until the
   nightly columns build (the worst case: merges on every day of the range);
4. the nightly build of the changed days, then the funnel again.

The funnel after the merges must equal the funnel of the data before the split (checked).

    .venv/bin/python bench/identity_funnel.py [--events 1000000] [--share 0.2] [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

import psycopg
from _common import django_on, machine, manage, median, postgres_available, scratch_postgres
from funnel_retention import (
    DAYS,
    FIRST_DAY,
    FUNNEL,
    RESULTS,
    WINDOW_DAYS,
    _columns_build,
    _facts_rebuild,
    generate,
    load_postgres,
)

SECTION = "## Identity merges: their cost and the funnel's"


def timed(run, runs: int) -> tuple[list[float], object]:
    result = run()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL is not reachable (BENCH_PG_URL): this benchmark needs it.")
    customers = max(args.events // 10, 1000)
    url = scratch_postgres("opsbench_identity_funnel")
    manage("migrate", "--no-input", env={"DATABASE_URL": url})
    load_postgres(url, generate(args.events, customers))
    every = round(1 / args.share)
    _facts_rebuild(url)
    _columns_build(url)
    django_on(url)
    from analytics.selectors import funnel_compute
    from analytics.services.identity import Link, identities_link

    date_from, date_to = FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1)

    def funnel():
        return funnel_compute(steps=FUNNEL, window_days=WINDOW_DAYS, date_from=date_from, date_to=date_to,
                              breakdown="channel")

    before_split = funnel()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""
            INSERT INTO analytics_person (id, distinct_id, created_at)
            SELECT id + 100000000, 'ck-' || distinct_id, now() FROM analytics_person WHERE id % {every} = 0""")
        moved = conn.execute(f"""
            UPDATE analytics_event SET person_id = person_id + 100000000, distinct_id = 'ck-' || distinct_id
            WHERE event = 'visit' AND person_id % {every} = 0""").rowcount
        conn.execute("VACUUM ANALYZE analytics_event")
        conn.execute("VACUUM ANALYZE analytics_person")
        links = [Link(anonymous_id="ck-" + name, known_id=name) for (name,) in conn.execute(
            f"SELECT distinct_id FROM analytics_person WHERE id % {every} = 0 AND id < 100000000 ORDER BY id")]
    _facts_rebuild(url)
    _columns_build(url)
    split_times, split = timed(funnel, args.runs)

    started = time.perf_counter()
    result = identities_link(links)
    merge_s = time.perf_counter() - started
    pending_times, pending = timed(funnel, args.runs)
    build_s = _columns_build(url)
    rebuilt_times, rebuilt = timed(funnel, args.runs)
    same = pending == before_split and rebuilt == before_split

    lines = [
        SECTION, "",
        f"Machine: {machine()} (shared with other work). Data: the funnel benchmark's synthetic stream, "
        f"{args.events:,} events of {customers:,} customers over {DAYS} days; {len(links):,} customers "
        f"({args.share:.0%}) made anonymous before the run: their {moved:,} `visit` events under a cookie id. "
        f"Funnel: {', '.join(FUNNEL)}, {WINDOW_DAYS}-day window, all {DAYS} days, breakdown by channel (on the event "
        f"columns, as the API runs it), median of {args.runs} runs after a warm-up.", "",
        "| step | seconds | runs |", "|---|---|---|",
        f"| funnel, visitors split (columns built) | {median(split_times):.2f} | "
        f"{', '.join(f'{t:.2f}' for t in split_times)} |",
        f"| {result.merged:,} merges (`identities_link`, one transaction each) | {merge_s:.1f} | "
        f"{result.merged / merge_s:,.0f} merges/s, {merge_s / max(result.merged, 1) * 1000:.1f} ms each |",
        f"| funnel right after the merges (changed days read from the events) | {median(pending_times):.2f} | "
        f"{', '.join(f'{t:.2f}' for t in pending_times)} |",
        f"| nightly columns build of the changed days | {build_s:.1f} | |",
        f"| funnel after the build | {median(rebuilt_times):.2f} | {', '.join(f'{t:.2f}' for t in rebuilt_times)} |",
        "",
        f"Answers: after the merges the funnel equals the one before the split: {'yes' if same else 'NO'} "
        f"(entrants {before_split['steps'][0]['count']:,}; split: {split['steps'][0]['count']:,}). Reports read "
        "`events.person_id`, which the merge rewrites: they do no identity work at query time, so once the days are "
        "rebuilt the funnel costs what it did; between a merge and the next build, the days it touched are read from "
        "the events (the third row).",
        "", f"Command: `.venv/bin/python bench/identity_funnel.py --events {args.events} --share {args.share} "
        f"--runs {args.runs}`.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        text = RESULTS.read_text(encoding="utf-8")
        before, _, after = text.partition(SECTION)
        following = after.find("\n## ") if after else -1
        rest = after[following + 1:] if following != -1 else ""
        RESULTS.write_text(before.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + ("\n" + rest if rest else ""),
                           encoding="utf-8")
    from django.db import connections

    connections.close_all()
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS opsbench_identity_funnel")


if __name__ == "__main__":
    main()
