"""Funnel and retention on PostgreSQL (our selectors) against DuckDB on the same data, at 1M and 10M events.

A synthetic, vectorised event stream (sessions: visit → view_merchant → add_to_cart → order_paid →
order_received → review with drop-off at each step, eight channels, microsecond timestamps over 90 days) is
loaded into a scratch PostgreSQL database with ``COPY`` (secondary indexes dropped during the load and built
afterwards, then ``VACUUM ANALYZE``; the first-touch facts that ingestion keeps are rebuilt, as after any bulk
load), and the same arrays into an in-memory DuckDB. Then, median of ``--runs`` runs after one warm-up each:

- funnel: 5 steps, 14-day window, the whole 90 days, breakdown by channel (``funnel_compute`` as the API runs it:
  on the event columns, built after the load as the nightly job builds them; the in-database pipeline, which the
  funnel falls back to, is timed beside it);
- retention: cohort ``visit``, return ``order_paid``, weekly, 8 periods (``retention_compute``, SQL path);
- DuckDB: the same semantics in one SQL statement each, on 2 threads.

The answers of both engines are compared (counts per step and channel; cohort sizes and retained counts).
Only one scratch database exists at a time, and it is dropped at the end; with ``--keep`` each size's database
is kept instead (``opsbench_funnel_<events>_v<N>``, a few GB at 10M) and reused by the next ``--keep`` run, which
then skips the minutes of loading (the table still shows the recorded load time).

    .venv/bin/python bench/funnel_retention.py [--sizes 1000000,10000000] [--runs 3] [--keep] [--write]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
from datetime import UTC, date, timedelta

import numpy as np
import pandas as pd
from _common import (
    BENCH_PG_ADMIN_URL,
    ROOT,
    database_url,
    django_on,
    machine,
    manage,
    median,
    postgres_available,
    scratch_postgres,
)

DB_NAME = "opsbench_funnel"
DAYS = 90
FIRST_DAY = date(2026, 7, 1)
TZ_OFFSET_HOURS = 8  # Asia/Shanghai (no daylight saving): DuckDB's local time is UTC + 8 h
EVENTS = ["visit", "view_merchant", "add_to_cart", "order_paid", "order_received", "review"]
CONTINUE = [0.70, 0.50, 0.60, 0.90, 0.30]  # chance that a session goes on to the next event
CHANNELS = ["organic", "app_store", "wechat", "douyin", "xiaohongshu", "baidu_sem", "offline_flyer", "referral"]
CHANNEL_SHARE = [0.20, 0.14, 0.16, 0.15, 0.10, 0.10, 0.06, 0.09]
FUNNEL = ["visit", "view_merchant", "add_to_cart", "order_paid", "order_received"]
WINDOW_DAYS = 14
CHUNK = 500_000
GENERATOR_VERSION = 1  # bump when generate() or load_postgres() change: databases kept by --keep are then rebuilt
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Funnel and retention"


# Data


def generate(n_events: int, n_customers: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Exactly ``n_events`` events as arrays (id, person_id, event code, ts in µs since the epoch, channel code)."""
    rng = np.random.default_rng(seed)
    mean_length = 1 + sum(np.cumprod(CONTINUE))
    sessions = int(n_events / mean_length * 1.05) + 100
    customer_channel = rng.choice(len(CHANNELS), size=n_customers, p=CHANNEL_SHARE).astype(np.int8)
    # Customers arrive over the period and come back: a session is at the customer's arrival plus an exponential gap.
    arrival = rng.integers(0, DAYS * 86_400_000_000, size=n_customers, dtype=np.int64)
    person = rng.integers(0, n_customers, size=sessions, dtype=np.int64)
    gap = rng.exponential(12 * 86_400_000_000, size=sessions).astype(np.int64)
    start_us = (pd.Timestamp(FIRST_DAY).tz_localize("Asia/Shanghai").value // 1000)
    session_at = start_us + (arrival[person] + gap) % (DAYS * 86_400_000_000)
    goes_on = np.cumprod(rng.random((sessions, len(CONTINUE))) < np.array(CONTINUE), axis=1)
    length = 1 + goes_on.sum(axis=1)
    first = np.repeat(np.cumsum(length) - length, length)
    position = np.arange(length.sum()) - first
    session = np.repeat(np.arange(sessions), length)
    step_gap = rng.integers(1_000_000, 1_800_000_000, size=sessions, dtype=np.int64)  # 1 s … 30 min per step
    ts = session_at[session] + position * step_gap[session] + rng.integers(0, 1_000_000, size=position.size)
    persons = person[session]
    cut = slice(0, n_events)
    return {
        "id": np.arange(1, n_events + 1, dtype=np.int64),
        "person_id": persons[cut] + 1,
        "event": position[cut].astype(np.int8),
        "ts": ts[cut],
        "channel": np.where(position[cut] == 0, customer_channel[persons[cut]], -1).astype(np.int8),
        "customers": np.int64(n_customers),
    }


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S.%f")
    return buffer.getvalue().encode()


def load_postgres(url: str, data: dict[str, np.ndarray], seed: int = 7) -> float:
    """COPY the arrays into analytics_person and analytics_event; secondary indexes rebuilt afterwards."""
    import psycopg

    started = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    names = np.array(EVENTS, dtype=object)
    channels = np.array(CHANNELS + [""], dtype=object)  # code −1 is the last: no channel
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        table = "'analytics_event'::regclass"
        constraints = conn.execute(
            f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {table} AND contype = 'u'"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'analytics_event' AND indexname NOT IN "
            f"(SELECT conname FROM pg_constraint WHERE conrelid = {table})"
        ).fetchall()
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE analytics_event DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        customers = int(data["customers"])
        with conn.cursor().copy("COPY analytics_person (id, distinct_id, created_at) FROM STDIN (FORMAT csv)") as copy:
            for lo in range(0, customers, CHUNK):
                ids = np.arange(lo + 1, min(lo + CHUNK, customers) + 1)
                copy.write(_csv(pd.DataFrame({"id": ids, "distinct_id": "c" + pd.Series(ids).astype(str),
                                              "created_at": "2026-07-01 00:00:00"})))
        columns = "id, uuid, event, distinct_id, person_id, timestamp, channel, properties, received_at"
        options = "FORMAT csv, FORCE_NOT_NULL (channel)"  # an empty channel is '', not NULL
        with conn.cursor().copy(f"COPY analytics_event ({columns}) FROM STDIN ({options})") as copy:
            for lo in range(0, data["id"].size, CHUNK):
                part = slice(lo, lo + CHUNK)
                size = data["id"][part].size
                uuids = np.frombuffer(rng.bytes(16 * size).hex().encode(), dtype="S32").astype(str)
                person = pd.Series(data["person_id"][part])
                copy.write(_csv(pd.DataFrame({
                    "id": data["id"][part], "uuid": uuids, "event": names[data["event"][part]],
                    "distinct_id": "c" + person.astype(str), "person_id": person,
                    "timestamp": pd.to_datetime(data["ts"][part], unit="us"),
                    "channel": channels[data["channel"][part]], "properties": "{}",
                    "received_at": "2026-10-01 00:00:00",
                })))
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE analytics_event ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)
        for name in ("analytics_event", "analytics_person"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        conn.execute("VACUUM ANALYZE analytics_person")
        conn.execute("VACUUM ANALYZE analytics_event")
    return time.perf_counter() - started


def load_duckdb(data: dict[str, np.ndarray]):
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    frame = pd.DataFrame({  # noqa: F841 (read by DuckDB by name)
        "id": data["id"], "person_id": data["person_id"],
        "event": pd.Categorical.from_codes(data["event"], EVENTS).astype(str),
        "ts": pd.to_datetime(data["ts"], unit="us"),
        "channel": np.array(CHANNELS + [""], dtype=object)[data["channel"]],
    })
    con.execute("CREATE TABLE events AS SELECT * FROM frame ORDER BY event, person_id, ts")
    return con, time.perf_counter() - started


# Queries


def duckdb_funnel(con, start, end) -> dict:
    """The same semantics as analytics/services/funnel.py: earliest entry, each step strictly after the last."""
    parts = [f"f0 AS (SELECT person_id, min(ts) AS t0, min(ts) AS tk, arg_min(channel, (ts, id)) AS channel "
             f"FROM events WHERE event = '{FUNNEL[0]}' AND ts >= '{start}' AND ts < '{end}' GROUP BY person_id)"]
    for k, step in enumerate(FUNNEL[1:], start=1):
        parts.append(
            f"f{k} AS (SELECT f.person_id, any_value(f.t0) AS t0, min(e.ts) AS tk FROM f{k - 1} AS f "
            f"JOIN events AS e ON e.person_id = f.person_id AND e.event = '{step}' AND e.ts > f.tk "
            f"AND e.ts <= f.t0 + INTERVAL {WINDOW_DAYS} DAY GROUP BY f.person_id)")
    counts = ", ".join(["count(*)"] + [f"count(f{k}.tk)" for k in range(1, len(FUNNEL))])
    timings = ", ".join(f"median(epoch(f{k}.tk - f{k - 1}.tk)), avg(epoch(f{k}.tk - f{k - 1}.tk))"
                        for k in range(1, len(FUNNEL)))
    joins = " ".join(f"LEFT JOIN f{k} ON f{k}.person_id = f0.person_id" for k in range(1, len(FUNNEL)))
    rows = con.execute(
        f"WITH {', '.join(parts)} SELECT CASE WHEN grouping(value) = 0 THEN value END, {counts}, {timings} "
        f"FROM (SELECT *, coalesce(nullif(channel, ''), '(none)') AS value FROM f0) AS f0 {joins} "
        f"GROUP BY GROUPING SETS ((), (value))"
    ).fetchall()
    return {value: list(numbers[:len(FUNNEL)]) for value, *numbers in rows}


def duckdb_retention(con, start, end, horizon, periods=8) -> dict:
    local = f"INTERVAL {TZ_OFFSET_HOURS} HOUR"
    rows = con.execute(
        f"WITH firsts AS (SELECT person_id, min(ts) AS first_at FROM events WHERE event = 'visit' GROUP BY 1), "
        f"cohort AS (SELECT person_id, first_at, date_trunc('week', first_at + {local}) AS week FROM firsts "
        f"  WHERE first_at >= '{start}' AND first_at < '{end}'), "
        f"returns AS (SELECT DISTINCT c.person_id, c.week, "
        f"  datediff('day', c.week, date_trunc('week', e.ts + {local})) // 7 AS k "
        f"  FROM cohort AS c JOIN events AS e ON e.person_id = c.person_id AND e.event = 'order_paid' "
        f"  AND e.ts >= c.first_at AND e.ts < '{horizon}') "
        f"SELECT strftime(week, '%Y-%m-%d'), -1 AS k, count(*) FROM cohort GROUP BY 1 "
        f"UNION ALL SELECT strftime(week, '%Y-%m-%d'), k, count(*) FROM returns WHERE k >= 0 AND k < {periods} "
        f"GROUP BY 1, 2"
    ).fetchall()
    cohorts: dict[str, dict] = {}
    for week, k, count in rows:
        row = cohorts.setdefault(week, {"size": 0, "retained": [0] * periods})
        if k < 0:
            row["size"] = count
        else:
            row["retained"][k] = count
    return dict(sorted(cohorts.items()))


def timed_pair(ours, theirs, runs: int) -> tuple[dict, dict]:
    """One warm-up each, then ``runs`` rounds alternating the two engines (fair on a machine shared with others)."""
    results = {"ours": ours(), "theirs": theirs()}
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for _ in range(runs):
        for name, run in (("ours", ours), ("theirs", theirs)):
            started = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - started)
    return times, results


def _facts_rebuild(url: str) -> float:
    """The COPY went around events_load: compute what it keeps up to date (per-customer first-touch facts, which
    retention reads its visit cohorts from; event counts), then VACUUM ANALYZE. Returns the seconds taken."""
    import psycopg

    started = time.perf_counter()
    manage("rebuild_event_facts", env={"DATABASE_URL": url})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE analytics_personfacts")
    return time.perf_counter() - started


def _columns_build(url: str) -> float:
    """``build_event_columns`` up to the last day of the data (what the nightly job leaves); returns seconds. A kept
    database already has them: the time of the build that made them is kept in ``bench_meta``."""
    import psycopg

    started = time.perf_counter()
    manage("build_event_columns", "--verbosity", "0", env={"DATABASE_URL": url})
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        kept = conn.execute("SELECT value FROM bench_meta WHERE key = 'columns_s'").fetchone()
        if kept and seconds < float(kept[0]) / 2:
            return float(kept[0])
        conn.execute("INSERT INTO bench_meta VALUES ('columns_s', %s) ON CONFLICT (key) DO UPDATE "
                     "SET value = excluded.value", [str(seconds)])
        conn.execute("VACUUM ANALYZE analytics_columnblock")
    return seconds


def _postgres_with(data: dict[str, np.ndarray], n_events: int, keep: bool) -> tuple[str, float]:
    """A database holding ``data``: with ``keep``, the one a previous ``--keep`` run left for this size and generator
    (migrated to the current code), else a scratch one loaded now. Returns its URL and the load time in seconds."""
    import psycopg

    name = f"{DB_NAME}_{n_events}_v{GENERATOR_VERSION}" if keep else DB_NAME
    url = database_url(name)
    if keep:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                load_s = float(conn.execute("SELECT value FROM bench_meta WHERE key = 'load_s'").fetchone()[0])
                if conn.execute("SELECT 1 FROM bench_meta WHERE key = 'facts'").fetchone() is None:
                    load_s += _facts_rebuild(url)  # kept by an older version of this script, without facts
                    conn.execute("UPDATE bench_meta SET value = %s WHERE key = 'load_s'", [str(load_s)])
                    conn.execute("INSERT INTO bench_meta VALUES ('facts', 'rebuilt')")
                # Again: a VACUUM right after the load cannot mark pages all-visible while another session's
                # snapshot is older than the load (a shared server), and index-only scans then read the heap.
                conn.execute("VACUUM ANALYZE analytics_event")
                visible, pages = conn.execute(
                    "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'analytics_event'").fetchone()
            manage("migrate", "--no-input", env={"DATABASE_URL": url})
            print(f"[{n_events:,} events] all-visible pages: {visible:,} of {pages:,}", flush=True)
            print(f"[{n_events:,} events] reusing {name}", flush=True)
            return url, load_s
        except (psycopg.Error, TypeError):
            pass
    url = scratch_postgres(name)
    manage("migrate", "--no-input", env={"DATABASE_URL": url})
    print(f"[{n_events:,} events] loading PostgreSQL", flush=True)
    load_s = load_postgres(url, data)
    load_s += _facts_rebuild(url)
    if keep:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text)")
            conn.execute("INSERT INTO bench_meta VALUES ('load_s', %s), ('facts', 'rebuilt')", [str(load_s)])
    return url, load_s


def bench_size(n_events: int, runs: int, keep: bool = False) -> dict:
    from django.db import connections

    from analytics.selectors import funnel_compute, retention_compute
    from analytics.services.periods import period_add, period_first_day
    from ops_platform.core.periods import local_day_start

    n_customers = max(n_events // 10, 1000)
    print(f"[{n_events:,} events] generating", flush=True)
    started = time.perf_counter()
    data = generate(n_events, n_customers)
    generate_s = time.perf_counter() - started
    connections.close_all()
    url, load_pg_s = _postgres_with(data, n_events, keep)
    print(f"[{n_events:,} events] building the event columns", flush=True)
    columns_s = _columns_build(url)
    django_on(url)
    print(f"[{n_events:,} events] PostgreSQL loaded in {load_pg_s:.0f} s; loading DuckDB", flush=True)
    con, load_duck_s = load_duckdb(data)

    date_from, date_to = FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1)
    start, end = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))
    horizon = local_day_start(period_add(period_first_day(date_to, "week"), "week", 8))
    utc = [moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") for moment in (start, end, horizon)]

    def ours_funnel():
        return funnel_compute(steps=FUNNEL, window_days=WINDOW_DAYS, date_from=date_from, date_to=date_to,
                              breakdown="channel")

    def ours_retention():
        return retention_compute(cohort_event="visit", return_event="order_paid", period="week",
                                 date_from=date_from, date_to=date_to, periods=8)

    def pipeline_funnel():
        return funnel_compute(steps=FUNNEL, window_days=WINDOW_DAYS, date_from=date_from, date_to=date_to,
                              breakdown="channel", engine="sql")

    print(f"[{n_events:,} events] timing", flush=True)
    funnel_times, funnels = timed_pair(ours_funnel, lambda: duckdb_funnel(con, utc[0], utc[1]), runs)
    pipeline_times, pipelines = timed_pair(pipeline_funnel, lambda: None, runs)
    retention_times, retentions = timed_pair(ours_retention, lambda: duckdb_retention(con, *utc), runs)
    funnel, funnel_d = funnels["ours"], funnels["theirs"]
    retention, retention_d = retentions["ours"], retentions["theirs"]
    funnel_pg_runs, funnel_duck_runs = funnel_times["ours"], funnel_times["theirs"]
    retention_pg_runs, retention_duck_runs = retention_times["ours"], retention_times["theirs"]
    funnel_pg, funnel_duck = median(funnel_pg_runs), median(funnel_duck_runs)
    retention_pg, retention_duck = median(retention_pg_runs), median(retention_duck_runs)

    ours_counts = {None: [step["count"] for step in funnel["steps"]]}
    ours_counts.update({row["value"]: [step["count"] for step in row["steps"]] for row in funnel["breakdown"]})
    ours_cohorts = {row["cohort"]: {"size": row["size"], "retained": row["retained"]}
                    for row in retention["cohorts"]}
    agree_funnel = ours_counts == funnel_d and pipelines["ours"] == funnel
    agree_retention = ours_cohorts == retention_d
    if not (agree_funnel and agree_retention):
        print("DISAGREEMENT", ours_counts, funnel_d, ours_cohorts, retention_d, sep="\n", file=sys.stderr)
    con.close()
    connections.close_all()
    return {
        "events": n_events, "customers": n_customers, "generate_s": generate_s, "load_pg_s": load_pg_s,
        "columns_s": columns_s, "pipeline_pg": median(pipeline_times["ours"]),
        "load_duck_s": load_duck_s, "funnel_pg": funnel_pg, "funnel_pg_runs": funnel_pg_runs,
        "funnel_duck": funnel_duck, "funnel_duck_runs": funnel_duck_runs, "retention_pg": retention_pg,
        "retention_pg_runs": retention_pg_runs, "retention_duck": retention_duck,
        "retention_duck_runs": retention_duck_runs, "agree_funnel": agree_funnel, "agree_retention": agree_retention,
        "entrants": ours_counts[None][0], "funnel_counts": ours_counts[None], "cohorts": len(ours_cohorts),
    }


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(BENCH_PG_ADMIN_URL) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


def report(results: list[dict], runs: int) -> list[str]:
    import duckdb

    def runs_text(values):
        return ", ".join(f"{v:.2f}" for v in values)

    lines = [
        SECTION,
        "",
        f"Machine: {machine()}; PostgreSQL {postgres_version()} (shared with other work), DuckDB {duckdb.__version__} "
        f"on 2 threads, in memory. Synthetic sessions over {DAYS} days, 10 events per customer, eight channels, "
        f"microsecond timestamps (`bench/funnel_retention.py`). Loaded with `COPY` (secondary indexes built "
        f"after the load), then `VACUUM ANALYZE` and the first-touch facts rebuilt (in the load time). Times are the "
        f"median of {runs} runs after a warm-up, the two "
        "engines alternating, in seconds.",
        "",
        f"- Funnel: {' → '.join(FUNNEL)}, {WINDOW_DAYS}-day window, all {DAYS} days, breakdown by channel "
        "(counts, conversions, median and mean time to convert, per channel and overall): our "
        "`funnel_compute` as the API calls it (on the event columns, see below) against the same semantics in one "
        "DuckDB statement.",
        "- Retention: cohort `visit`, return `order_paid`, weekly, 8 periods: `retention_compute` against DuckDB.",
        "",
        "| events | customers | load PG (s) | load DuckDB (s) | query | ours, PostgreSQL (s) | DuckDB (s) | ratio "
        "| runs, ours | runs, DuckDB | same answer |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for query in ("funnel", "retention"):
            ours, duck = r[f"{query}_pg"], r[f"{query}_duck"]
            lines.append(
                f"| {r['events']:,} | {r['customers']:,} | {r['load_pg_s']:.0f} | {r['load_duck_s']:.1f} | {query} | "
                f"{ours:.2f} | {duck:.2f} | {ours / duck:.1f}× | {runs_text(r[f'{query}_pg_runs'])} | "
                f"{runs_text(r[f'{query}_duck_runs'])} | {'yes' if r[f'agree_{query}'] else 'NO'} |")
    lines.append("")
    for r in results:
        lines.append(
            f"- {r['events']:,} events: the event columns took {r['columns_s']:.0f} s to build for all {DAYS + 1} days "
            f"(`build_event_columns`; the nightly job builds one day); the in-database pipeline that the funnel falls "
            f"back to (`engine=\"sql\"`) took {r['pipeline_pg']:.2f} s, "
            f"{r['pipeline_pg'] / r['funnel_duck']:.1f}× DuckDB, with the same answer.")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        growth = large["events"] / small["events"]
        lines += ["", f"Growth {small['events']:,} → {large['events']:,} events (×{growth:.0f}): "
                  f"funnel ×{large['funnel_pg'] / small['funnel_pg']:.1f} ours, "
                  f"×{large['funnel_duck'] / small['funnel_duck']:.1f} DuckDB; retention "
                  f"×{large['retention_pg'] / small['retention_pg']:.1f} ours, "
                  f"×{large['retention_duck'] / small['retention_duck']:.1f} DuckDB."]
    return lines


def write_section(lines: list[str], notes: str = "") -> None:
    """Replace (or append) this benchmark's section in bench/RESULTS.md, leaving the other sections alone."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    body = "\n".join(lines) + ("\n\n" + notes.strip() if notes.strip() else "") + "\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    RESULTS.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the section into bench/RESULTS.md")
    parser.add_argument("--notes", default="", help="text appended under the table (what was tried)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's database (opsbench_funnel_<events>_v<N>) and reuse it next time")
    args = parser.parse_args()
    if not postgres_available():
        print(f"PostgreSQL at {BENCH_PG_ADMIN_URL} does not answer: nothing to measure.")
        return 1
    django_on(database_url(DB_NAME))
    results = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            results.append(bench_size(size, args.runs, keep=args.keep))
            print("\n".join(report(results, args.runs)[-2:]), flush=True)
    finally:
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    lines = report(results, args.runs)
    print("\n".join(lines))
    if args.write:
        write_section(lines, args.notes)
    return 0 if all(r["agree_funnel"] and r["agree_retention"] for r in results) else 2


if __name__ == "__main__":
    sys.exit(main())
