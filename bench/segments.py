"""Customer refresh and segment rebuilds at 1,000,000 customers (10M events of history).

Issue 5 asks for segments over 1M customers built "in seconds, not minutes". Runs in process against the shared
synthetic PostgreSQL data set (bench/_synthetic.py), median of --runs runs. The users tables are migrated into the
synthetic database for the run and removed again afterwards (``migrate users zero``), so the shared set is left
as it was found. Person facts (first-touch channel) are read as they are: a set loaded with COPY has them only
after ``person_facts_rebuild``.

    .venv/bin/python bench/segments.py [--runs 3] [--customers 1000000] [--refresh-only]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from _common import machine, manage, median
from _synthetic import synthetic_database
from aarrr_nightly import django_on

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
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


def _next_day_of_events(cursor, *, every: int = 1) -> int:
    """Inside the caller's transaction (rolled back after): the events of the set's last day copied one day later, for
    every ``every``-th customer — the customers first seen that day come back as new people — so a refresh at
    NOW + 1 day sees a night's worth of new events and new customers, as the nightly task would. The synthetic set's
    last day is its busiest (everyone's events run up to the end): ``every=1`` is a heavy night (~5% of the history),
    ``every=5`` about an average one (~1/90)."""
    cursor.execute("CREATE TEMPORARY TABLE bench_new_people ON COMMIT DROP AS SELECT person_id FROM analytics_event "
                   "GROUP BY person_id HAVING MIN(timestamp) >= %s", [NOW - DAY])
    cursor.execute("INSERT INTO analytics_person (id, distinct_id, created_at) SELECT p.id + 100000000, "
                   "p.distinct_id || '-n', p.created_at FROM analytics_person p "
                   "JOIN bench_new_people n ON n.person_id = p.id WHERE p.id %% %s = 0", [every])
    cursor.execute("""
        INSERT INTO analytics_event (uuid, event, distinct_id, timestamp, channel, properties, received_at, person_id)
        SELECT gen_random_uuid(), e.event,
               CASE WHEN n.person_id IS NULL THEN e.distinct_id ELSE e.distinct_id || '-n' END,
               e.timestamp + interval '1 day', e.channel, e.properties, e.received_at + interval '1 day',
               CASE WHEN n.person_id IS NULL THEN e.person_id ELSE e.person_id + 100000000 END
        FROM analytics_event e LEFT JOIN bench_new_people n ON n.person_id = e.person_id
        WHERE e.timestamp >= %s AND e.person_id %% %s = 0""", [NOW - DAY, every])
    return cursor.rowcount


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--refresh-only", action="store_true", help="the customer refresh only, no segments")
    args = parser.parse_args()
    customers = args.customers
    url = synthetic_database(customers=customers, events=customers * 10, days=90, log=lambda m: print(m, flush=True))
    manage("migrate", "users", "--no-input", env={"DATABASE_URL": url})
    try:
        django_on(url)
        from django.db import connection, transaction

        from users.models import Customer, Segment
        from users.services.customers import customers_refresh
        from users.services.segments import segment_preview, segment_rebuild, segment_save

        def timed(action, **kwargs) -> float:
            started = time.perf_counter()
            action(**kwargs)
            return time.perf_counter() - started

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE users_customer")
        first = timed(customers_refresh, trigger="bench", now=NOW)
        print(f"first refresh {first:.1f} s", flush=True)
        unchanged = []
        for _ in range(args.runs):
            unchanged.append(timed(customers_refresh, trigger="bench", now=NOW))
            print(f"refresh, nothing new {unchanged[-1]:.1f} s", flush=True)
        def night(every: int) -> tuple[float, int, int, int]:
            """(seconds, new events, customers written, new customers) of a refresh after a night of events."""
            with transaction.atomic():
                with connection.cursor() as cursor:
                    events = _next_day_of_events(cursor, every=every)
                    cursor.execute("SELECT COUNT(*) FROM users_customer")
                    before = cursor.fetchone()[0]
                # timing the refresh only; everything it wrote is rolled back with the copied events
                seconds = timed(customers_refresh, trigger="bench", now=NOW + DAY)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FILTER (WHERE refreshed_at = %s), COUNT(*) FROM users_customer",
                                   [NOW + DAY])
                    written, after = cursor.fetchone()
                transaction.set_rollback(True)
            print(f"night (every {every}): refresh {seconds:.1f} s, {events:,} new events, {written:,} customers "
                  f"written, {after - before:,} new", flush=True)
            return seconds, events, written, after - before

        typical = [night(5) for _ in range(args.runs)]
        heavy = night(1)
        total = Customer.objects.count()
        with open("/proc/loadavg") as handle:
            load = " ".join(handle.read().split()[:3])
        lines = [
            "## Customers and segments",
            "",
            f"Machine: {machine()}; load average {load} at the end of the run (the machine is shared). "
            f"Synthetic data (bench/_synthetic.py): {customers:,} customers, {customers * 10:,} "
            f"events over 90 days, PostgreSQL 15 with default settings (`work_mem` 256/128 MB set for the "
            f"transaction). Median of {args.runs} runs, in process (`customers_refresh`, `segment_rebuild`: what "
            "the nightly task and the Rebuild button run). `bench/segments.py`.",
            "",
            "Customer refresh (activity, life-cycle stage and RFM quintiles of every customer in one SELECT, then only "
            "the customers whose values changed written; stage counts and flows; one transaction):",
            "",
            "| refresh | customers written | seconds |",
            "|---|---|---|",
            f"| first (empty table) | {total:,} | {first:.1f} |",
            f"| again, nothing new | 0 | **{median(unchanged):.1f}** "
            f"(runs: {', '.join(f'{r:.1f}' for r in unchanged)}) |",
            f"| nightly, an average night: {typical[0][1]:,} new events (the last day's, every 5th customer, copied "
            f"one day on; rolled back after), now + 1 day | {typical[0][2]:,} ({typical[0][3]:,} new) | "
            f"**{median([t[0] for t in typical]):.1f}** (runs: {', '.join(f'{t[0]:.1f}' for t in typical)}) |",
            f"| nightly, a heavy night: {heavy[1]:,} new events (the synthetic set's busiest day), now + 1 day | "
            f"{heavy[2]:,} ({heavy[3]:,} new) | {heavy[0]:.1f} (one run) |",
            "",
            "| segment | members | first build (s) | rebuild, unchanged (s) | rebuild after an average night (s) "
            "| live preview count (s) |",
            "|---|---|---|---|---|---|",
        ]
        if args.refresh_only:
            return lines[:-3]
        Segment.objects.filter(name__startswith="bench:").delete()
        rows = []
        for name, rules in SEGMENTS:
            started = time.perf_counter()
            segment = segment_save(name=f"bench: {name}"[:120], rules=rules)
            first_build = time.perf_counter() - started
            builds = [timed(segment_rebuild, segment_id=segment.pk, now=NOW) for _ in range(args.runs)]
            previews = [timed(segment_preview, rules=rules) for _ in range(args.runs)]
            rows.append([name, segment, first_build, median(builds), median(previews)])
            print(rows[-1], flush=True)
        with transaction.atomic():  # an average night, then every segment rebuilt; rolled back after
            with connection.cursor() as cursor:
                _next_day_of_events(cursor, every=5)
            customers_refresh(trigger="bench", now=NOW + DAY)
            for row in rows:
                row.append(timed(segment_rebuild, segment_id=row[1].pk, now=NOW + DAY))
            transaction.set_rollback(True)
        for name, segment, first_build, build, preview, after_night in rows:
            segment.refresh_from_db()
            lines.append(f"| {name} | {segment.size:,} | {first_build:.2f} | {build:.2f} | {after_night:.2f} | "
                         f"{preview:.2f} |")
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
