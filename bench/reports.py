"""Funnel, retention and trends through the HTTP API against DuckDB: property filters, breakdowns, unpacked days.

The speed targets of issue 15 ("Speed"): each report (a) with a property filter, (b) with a property breakdown and
(c) over days not yet packed into event columns within 2× of DuckDB, measured through the HTTP API, median of 5;
and (d) a trends query over 90 days by day with a breakdown in at most 1 s.

Data: the synthetic set of ``_synthetic.py`` (``--events`` events, a tenth as many customers, 90 days: local days
2026-08-03 … 2026-10-31), copied into this benchmark's own database ``reports_bench_<events>`` (made once and reused:
migrated, AARRR metrics computed, event columns built, ``VACUUM ANALYZE``; every run migrates it again and runs
``build_event_columns``, so a newer engine's migrations and columns are in place). Served by gunicorn (``--workers``
sync workers, ``DJANGO_DEBUG=0``, the production report time limit), queried with an analyst's API token, one
request at a time, from this process.

DuckDB (in memory, ``--duckdb-threads``, 2 by default as the machine has 2 cores) holds the same events, read from
that database once (not timed): id, event, person_id, timestamp (UTC, microseconds), and the properties the
queries read **pre-extracted into columns** — the text of ``channel`` and of ``merchant_id``, and ``amount`` when it
is a JSON number. Each query is one SQL statement with the semantics of analytics/services (funnel.py,
retention.py, trends.py, filters.py): local periods in Asia/Shanghai (UTC+8, no daylight saving: + 8 h), first-ever
cohort events over all history, entry ties broken by the lowest id, top-N breakdown values plus "(other)",
"(none)" for a missing or empty property, numeric comparisons on JSON numbers only.

Queries (GET /api/v1/analytics/{funnel,retention,trends}/, fixed dates over the data's 90 days):

- funnel visit → view_merchant → add_to_cart → order_paid, window 14 days: (a) ``where=properties.channel:not_in:
  direct``; (b) ``breakdown=properties.channel``; (c) ``breakdown=channel`` unpacked;
- retention weekly, 8 periods: (a) cohort and return order_paid, ``where=properties.amount:gte:40``; (b) cohort
  visit, return order_paid, ``breakdown=properties.channel``; (c) cohort visit, return order_paid, unpacked;
- (b*), added to the brief's list: today ``properties.channel`` is served from the events' ``channel`` column
  (``channel`` is its alias), so funnel and retention (b) read no JSON property; (b*) break down by one that only
  the JSON holds: the funnel order_paid → order_received → review (14 days) and retention cohort and return
  order_paid, both by ``properties.merchant_id`` (10,000 merchants: the top 10 and "(other)");
- trends by day: (a) order_paid total, ``where=properties.merchant_id:in:<50 merchants>``; (b) visit ``unique`` by
  ``properties.channel`` (also target d) and order_paid ``sum`` of amount by ``properties.merchant_id``; (c) visit
  total, unpacked.

"Unpacked" (c) is a fresh install before its first nightly build: every table named by ``--unpacked-tables``
(``analytics_column%`` — ColumnDay, ColumnBlock, ColumnChange and any later column table so named — by default) is
swapped for an empty copy of itself (``ALTER TABLE … RENAME``, instant), then swapped back afterwards (also at the
start of the next run, should this one die in between). Each state gets its own gunicorn, started after the swap,
so no worker carries anything it learnt about the columns across; a cache outside the workers (Redis) is not
cleared: an engine that caches coverage or answers there would need it cleared here.

Per query: one warm-up of each engine, then ``--runs`` rounds alternating ours and DuckDB; the figures are
**ours** = median seconds of the whole HTTP request (connect, query string parsed, computed, JSON sent and read
here), **DuckDB** = median seconds of the statement, fetched into Python; **ratio** = ours / DuckDB; the
**runs**; **same answer** = the numbers agree (funnel: customers per step overall and per breakdown value;
the funnel's median and mean seconds to convert are computed by DuckDB too, as ours does, but not compared;
retention: cohort sizes and retained counts overall and per value, a period not started by now — ``null`` in ours
— compared as 0; trends: every point of every series, sums to 1e-6 relative); **target met** = ratio ≤ 2 (and for
(d) also ≤ 1 s). The engine ours used is printed when the response says so (today's responses do not).

    .venv/bin/python bench/reports.py [--events 1000000] [--runs 5] [--workers 2] [--write]
        [--report-timeout S] [--fresh] [--only TEXT] [--unpacked-tables PATTERN,…] [--duckdb-threads 2]

A request that fails (a 503 past the report time limit, ``REPORT_TIMEOUT_SECONDS``, 30 s by default) is a row
"failed" and "same answer: NO", and the run goes on; so is one that takes longer than gunicorn's worker timeout
(120 s, ``_common.start_gunicorn``), which kills the worker. ``--fresh`` copies the synthetic set again (after an engine
change whose columns must be rebuilt from scratch rather than added to: the run itself only builds the days not
built yet). The exit status is 2 when any answer differs or failed.

Do not run ``--events 10000000`` on a busy machine: it builds (or reuses) the 10M synthetic set, a few GB, and
copies it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta

import psycopg
from _common import (
    BENCH_PG_ADMIN_URL,
    ROOT,
    database_url,
    ingest_server_env,
    machine,
    manage,
    median,
    start_gunicorn,
    write_results_section,
)
from _synthetic import Spec, synthetic_database

SECTION = "## Reports through HTTP: filters, breakdowns, unpacked days"
D1, D2 = date(2026, 8, 3), date(2026, 10, 31)  # the synthetic set's 90 local days (Asia/Shanghai)
TZ_HOURS = 8  # Asia/Shanghai, no daylight saving
RATIO_TARGET, SECONDS_TARGET = 2.0, 1.0
FUNNEL_STEPS = ["visit", "view_merchant", "add_to_cart", "order_paid"]
VALUE_STEPS = ["order_paid", "order_received", "review"]
WINDOW_DAYS = 14
PERIODS = 8
MERCHANTS = [f"M{n:05d}" for n in range(1, 10_001, 200)]  # 50 of the 10,000
BREAKDOWN_LIMIT = 10  # the API's default
NONE, OTHER = "(none)", "(other)"
USERNAME, PASSWORD = "bench_reports", "bench-pass-123"


def local_start(day: date) -> datetime:
    """The UTC instant (naive) of local midnight starting ``day``."""
    return datetime(day.year, day.month, day.day) - timedelta(hours=TZ_HOURS)


START, END = local_start(D1), local_start(D2 + timedelta(days=1))
# Retention's horizon: the start of period N after the last cohort's week (weeks from Monday).
HORIZON = local_start(D2 - timedelta(days=D2.weekday()) + timedelta(weeks=PERIODS))
DAYS = [D1 + timedelta(days=i) for i in range((D2 - D1).days + 1)]


def sql_time(moment: datetime) -> str:
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"


# The database


def prepared_database(events: int, log, *, fresh: bool = False) -> str:
    """This benchmark's copy of the synthetic set (made once, again with ``fresh``): migrated, metrics computed
    (the columns are built by every run)."""
    name = f"reports_bench_{events}"
    url = database_url(name)
    try:
        if fresh:
            raise psycopg.OperationalError("fresh copy asked")
        with psycopg.connect(url, connect_timeout=3) as conn:
            if conn.execute("SELECT count(*) FROM bench_meta WHERE key = 'reports_prepared'").fetchone()[0]:
                log(f"reusing {name}")
                return url
    except psycopg.Error:
        pass
    customers = max(events // 10, 1)
    synthetic_database(customers=customers, events=events, days=90, log=log)
    template = Spec(customers=customers, events=events, days=90).database
    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    log(f"copied {template} into {name}; computing metrics")
    env = {"DATABASE_URL": url}
    manage("migrate", "--no-input", env=env)
    manage("compute_metrics", "--from", "2026-08-01", "--to", "2026-10-31", env=env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("INSERT INTO bench_meta VALUES ('reports_prepared', 'yes')")
    return url


AWAY = "bench_packed_"  # the prefix of a column table put aside while the unpacked queries run


def column_tables(conn, patterns: list[str]) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE ANY(%s) "
                        "ORDER BY 1", [patterns]).fetchall()
    return [row[0] for row in rows]


def restore_columns(url: str) -> list[str]:
    """Put back every column table set aside by ``unpack_columns`` (dropping its empty stand-in)."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        aside = column_tables(conn, [AWAY + "%"])
        for table in aside:
            original = table[len(AWAY):]
            conn.execute(f'DROP TABLE IF EXISTS "{original}"')
            conn.execute(f'ALTER TABLE "{table}" RENAME TO "{original}"')
    return [table[len(AWAY):] for table in aside]


def unpack_columns(url: str, patterns: list[str]) -> list[str]:
    """A fresh install's state before its first nightly build: each column table swapped for an empty copy."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        tables = [t for t in column_tables(conn, patterns) if not t.startswith(AWAY)]
        for table in tables:
            conn.execute(f'ALTER TABLE "{table}" RENAME TO "{AWAY}{table}"')
            conn.execute(f'CREATE TABLE "{table}" (LIKE "{AWAY}{table}" INCLUDING ALL)')
    return tables


# DuckDB


def load_duckdb(url: str, threads: int):
    """The events into an in-memory DuckDB, the properties the queries read pre-extracted into columns."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    with tempfile.NamedTemporaryFile(suffix=".csv") as file:
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            with cursor.copy(
                "COPY (SELECT id, event, person_id, to_char(timestamp, 'YYYY-MM-DD HH24:MI:SS.US'), "
                "properties ->> 'channel', properties ->> 'merchant_id', "
                "CASE WHEN jsonb_typeof(properties -> 'amount') = 'number' "
                "THEN (properties ->> 'amount')::float8 END FROM analytics_event) TO STDOUT WITH (FORMAT csv)"
            ) as copy:
                for chunk in copy:
                    file.write(chunk)
        file.flush()
        con.execute(
            f"CREATE TABLE events AS SELECT * FROM read_csv('{file.name}', header = false, "
            "columns = {'id': 'BIGINT', 'event': 'VARCHAR', 'person_id': 'BIGINT', 'ts': 'TIMESTAMP', "
            "'channel': 'VARCHAR', 'merchant_id': 'VARCHAR', 'amount': 'DOUBLE'}) ORDER BY event, person_id, ts")
    return con


def _filtered(where: str) -> str:
    return f"(SELECT * FROM events WHERE {where})" if where else "events"


def _value(column: str) -> str:
    return f"coalesce(nullif({column}, ''), '{NONE}')"


def duck_funnel(con, *, where: str = "", breakdown: str | None = None, steps: list[str] = FUNNEL_STEPS) -> dict:
    """Counts per step, overall (key None) and per kept breakdown value and "(other)" (funnel.py's semantics); the
    median and mean seconds between steps are computed too, as ours does, but not compared."""
    events = _filtered(where)
    value = _value(breakdown) if breakdown else "NULL"
    parts = [f"f0 AS (SELECT person_id, min(ts) AS t0, min(ts) AS tk, arg_min({value}, (ts, id)) AS value "
             f"FROM {events} AS e WHERE event = '{steps[0]}' AND ts >= {sql_time(START)} "
             f"AND ts < {sql_time(END)} GROUP BY person_id)"]
    for k, step in enumerate(steps[1:], start=1):
        parts.append(
            f"f{k} AS (SELECT f.person_id, any_value(f.t0) AS t0, min(e.ts) AS tk FROM f{k - 1} AS f "
            f"JOIN {events} AS e ON e.person_id = f.person_id AND e.event = '{step}' AND e.ts > f.tk "
            f"AND e.ts <= f.t0 + INTERVAL {WINDOW_DAYS} DAY GROUP BY f.person_id)")
    n = len(steps)
    parts.append(f"ranked AS (SELECT value FROM f0 GROUP BY value ORDER BY count(*) DESC, value "
                 f"LIMIT {BREAKDOWN_LIMIT})")
    counts = ", ".join(["count(*)"] + [f"count(f{k}.tk)" for k in range(1, n)])
    timings = ", ".join(f"median(epoch(f{k}.tk - f{k - 1}.tk)), avg(epoch(f{k}.tk - f{k - 1}.tk))"
                        for k in range(1, n))
    joins = " ".join(f"LEFT JOIN f{k} ON f{k}.person_id = f0.person_id" for k in range(1, n))
    grouping = "GROUP BY GROUPING SETS ((), (g))" if breakdown else ""
    rows = con.execute(
        f"WITH {', '.join(parts)} SELECT {'CASE WHEN grouping(g) = 0 THEN g END' if breakdown else 'NULL'}, "
        f"{counts}, {timings} FROM (SELECT *, CASE WHEN value IN (SELECT value FROM ranked) THEN value "
        f"ELSE '{OTHER}' END AS g FROM f0) AS f0 {joins} {grouping}"
    ).fetchall()
    return {key: list(numbers[:n]) for key, *numbers in rows}


def ours_funnel(answer: dict) -> dict:
    counts = {None: [step["count"] for step in answer["steps"]]}
    counts.update({row["value"]: [step["count"] for step in row["steps"]] for row in answer.get("breakdown", [])})
    return counts


def duck_retention(con, *, cohort: str, returning: str, where: str = "", breakdown: str | None = None) -> dict:
    """{group: {cohort week: (size, [retained k = 0…N−1])}} (retention.py's semantics), overall under None."""
    events = _filtered(where)
    local = f"INTERVAL {TZ_HOURS} HOUR"
    value = _value(breakdown) if breakdown else "NULL"
    rows = con.execute(
        f"WITH firsts AS (SELECT person_id, min(ts) AS first_at, arg_min({value}, (ts, id)) AS value "
        f"  FROM {events} AS e WHERE event = '{cohort}' GROUP BY 1), "
        f"cohort AS (SELECT person_id, first_at, value, date_trunc('week', first_at + {local}) AS week FROM firsts "
        f"  WHERE first_at >= {sql_time(START)} AND first_at < {sql_time(END)}), "
        f"ranked AS (SELECT value FROM cohort GROUP BY value ORDER BY count(*) DESC, value LIMIT {BREAKDOWN_LIMIT}), "
        f"grouped AS (SELECT *, CASE WHEN value IN (SELECT value FROM ranked) THEN value ELSE '{OTHER}' END AS g "
        f"  FROM cohort), "
        f"returns AS (SELECT DISTINCT c.person_id, c.g, c.week, "
        f"  datediff('day', c.week, date_trunc('week', e.ts + {local})) // 7 AS k "
        f"  FROM grouped AS c JOIN {events} AS e ON e.person_id = c.person_id AND e.event = '{returning}' "
        f"  AND e.ts >= c.first_at AND e.ts < {sql_time(HORIZON)}) "
        f"SELECT g, strftime(week, '%Y-%m-%d'), -1 AS k, count(*) FROM grouped GROUP BY 1, 2 "
        f"UNION ALL SELECT g, strftime(week, '%Y-%m-%d'), k, count(*) FROM returns WHERE k >= 0 AND k < {PERIODS} "
        f"GROUP BY 1, 2, 3"
    ).fetchall()
    groups: dict = {}
    for g, week, k, count in rows:
        for key in ([None, g] if breakdown else [None]):
            row = groups.setdefault(key, {}).setdefault(week, [0, [0] * PERIODS])
            if k < 0:
                row[0] += count
            else:
                row[1][k] += count
    return {key: {week: (size, retained) for week, (size, retained) in sorted(weeks.items())}
            for key, weeks in groups.items()}


def ours_retention(answer: dict) -> dict:
    def cohorts(rows):
        return {row["cohort"]: (row["size"], [count or 0 for count in row["retained"]]) for row in rows}

    groups = {None: cohorts(answer["cohorts"])}
    groups.update({row["value"]: cohorts(row["cohorts"]) for row in answer.get("breakdown", [])})
    return groups


def duck_trends(con, *, event: str, measure: str = "total", where: str = "", breakdown: str | None = None) -> dict:
    """{series key (None, or a kept value, or "(other)"): [value per day]} (trends.py's semantics)."""
    events = f"(SELECT * FROM events WHERE event = '{event}' AND ts >= {sql_time(START)} AND ts < {sql_time(END)}" \
             + (f" AND {where})" if where else ")")
    aggregate = {"total": "count(*)", "unique": "count(DISTINCT person_id)", "sum": "coalesce(sum(amount), 0)"}[
        measure]
    day = f"CAST(ts + INTERVAL {TZ_HOURS} HOUR AS DATE)"
    if breakdown:
        rows = con.execute(
            f"WITH e AS (SELECT ts, person_id, amount, {_value(breakdown)} AS v FROM {events}), "
            f"ranked AS (SELECT v FROM e GROUP BY v ORDER BY {aggregate} DESC NULLS LAST, v "
            f"LIMIT {BREAKDOWN_LIMIT}) "
            f"SELECT CASE WHEN v IN (SELECT v FROM ranked) THEN v ELSE '{OTHER}' END AS g, {day} AS d, {aggregate} "
            f"FROM e GROUP BY 1, 2").fetchall()
    else:
        rows = con.execute(f"SELECT NULL, {day}, {aggregate} FROM {events} GROUP BY 2").fetchall()
    series: dict = {}
    index = {day: i for i, day in enumerate(DAYS)}
    for g, d, value in rows:
        series.setdefault(g, [0] * len(DAYS))[index[d]] = value
    return series


def ours_trends(answer: dict) -> dict:
    return {row.get("breakdown_value"): [point["value"] for point in row["points"]] for row in answer["series"]}


def summary(answer: dict) -> str:
    """A few numbers of a DuckDB answer, to see at a glance that it is not empty."""
    overall = answer.get(None)
    if overall is None:  # trends by a breakdown: the groups' series added up
        overall = [sum(values) for values in zip(*answer.values(), strict=True)]
    if isinstance(overall, dict):  # retention: cohorts
        sizes = sum(size for size, _retained in overall.values())
        kept = sum(sum(retained) for _size, retained in overall.values())
        text = f"{len(overall)} cohorts, {sizes:,} customers, {kept:,} retained (all k)"
    elif len(overall) <= 10:  # funnel: counts per step (trends: one value per day)
        text = "counts " + " → ".join(f"{count:,}" for count in overall)
    else:
        text = f"total {sum(overall):,.0f} over {len(overall)} days"
    groups = [key for key in answer if key is not None]
    return text + (f"; {len(groups)} breakdown groups" if groups else "")


def same(a, b) -> bool:
    """Equal, floats to 1e-6 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


# The queries: (label, path, parameters, unpacked, DuckDB, our answer → comparable, extra target in seconds)

NOT_DIRECT = "(channel IS NULL OR channel NOT IN ('direct'))"
AMOUNT_40 = "amount >= 40"
IN_MERCHANTS = "merchant_id IN (" + ", ".join(f"'{m}'" for m in MERCHANTS) + ")"
DATES = {"date_from": D1.isoformat(), "date_to": D2.isoformat()}
FUNNEL = {"steps": ",".join(FUNNEL_STEPS), "window_days": str(WINDOW_DAYS), **DATES}
RETENTION = {"period": "week", "periods": str(PERIODS), **DATES}
TRENDS = {"interval": "day", **DATES}

QUERIES = [
    ("funnel (a) where channel not_in direct", "funnel",
     {**FUNNEL, "where": "properties.channel:not_in:direct"}, False,
     lambda con: duck_funnel(con, where=NOT_DIRECT), ours_funnel, None),
    ("funnel (b) breakdown properties.channel", "funnel", {**FUNNEL, "breakdown": "properties.channel"}, False,
     lambda con: duck_funnel(con, breakdown="channel"), ours_funnel, None),
    # Added: on today's engines properties.channel is the events' channel column (filled at ingestion), so (b) above
    # never reads a property of the JSON; these do (10,000 merchants: the top 10 and "(other)").
    ("funnel (b*) order_paid → order_received → review, breakdown properties.merchant_id", "funnel",
     {**FUNNEL, "steps": ",".join(VALUE_STEPS), "breakdown": "properties.merchant_id"}, False,
     lambda con: duck_funnel(con, breakdown="merchant_id", steps=VALUE_STEPS), ours_funnel, None),
    ("funnel (c) breakdown channel, unpacked", "funnel", {**FUNNEL, "breakdown": "channel"}, True,
     lambda con: duck_funnel(con, breakdown="channel"), ours_funnel, None),
    ("retention (a) order_paid, where amount gte 40", "retention",
     {**RETENTION, "cohort_event": "order_paid", "return_event": "order_paid", "where": "properties.amount:gte:40"},
     False, lambda con: duck_retention(con, cohort="order_paid", returning="order_paid", where=AMOUNT_40),
     ours_retention, None),
    ("retention (b) visit→order_paid, breakdown properties.channel", "retention",
     {**RETENTION, "cohort_event": "visit", "return_event": "order_paid", "breakdown": "properties.channel"}, False,
     lambda con: duck_retention(con, cohort="visit", returning="order_paid", breakdown="channel"),
     ours_retention, None),
    ("retention (b*) order_paid, breakdown properties.merchant_id", "retention",
     {**RETENTION, "cohort_event": "order_paid", "return_event": "order_paid", "breakdown": "properties.merchant_id"},
     False, lambda con: duck_retention(con, cohort="order_paid", returning="order_paid", breakdown="merchant_id"),
     ours_retention, None),
    ("retention (c) visit→order_paid, unpacked", "retention",
     {**RETENTION, "cohort_event": "visit", "return_event": "order_paid"}, True,
     lambda con: duck_retention(con, cohort="visit", returning="order_paid"), ours_retention, None),
    ("trends (a) order_paid total, where merchant_id in 50", "trends",
     {**TRENDS, "event": "order_paid", "measure": "total",
      "where": "properties.merchant_id:in:" + "|".join(MERCHANTS)}, False,
     lambda con: duck_trends(con, event="order_paid", where=IN_MERCHANTS), ours_trends, None),
    ("trends (b, d) visit unique, breakdown properties.channel", "trends",
     {**TRENDS, "event": "visit", "measure": "unique", "breakdown": "properties.channel"}, False,
     lambda con: duck_trends(con, event="visit", measure="unique", breakdown="channel"), ours_trends,
     SECONDS_TARGET),
    ("trends (b) order_paid sum amount, breakdown properties.merchant_id", "trends",
     {**TRENDS, "event": "order_paid", "measure": "sum", "property": "amount",
      "breakdown": "properties.merchant_id"}, False,
     lambda con: duck_trends(con, event="order_paid", measure="sum", breakdown="merchant_id"), ours_trends, None),
    ("trends (c) visit total, unpacked", "trends", {**TRENDS, "event": "visit", "measure": "total"}, True,
     lambda con: duck_trends(con, event="visit"), ours_trends, None),
]


# HTTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_token(base: str) -> str:
    request = urllib.request.Request(f"{base}/api/v1/auth/token/", method="POST",
                                     data=json.dumps({"username": USERNAME, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["token"]


def get(base: str, token: str, kind: str, params: dict) -> dict:
    request = urllib.request.Request(f"{base}/api/v1/analytics/{kind}/?{urllib.parse.urlencode(params)}",
                                     headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{kind}: HTTP {error.code} {error.read()[:300]!r}") from error
    except (OSError, http.client.HTTPException) as error:  # a worker killed past gunicorn's 120 s timeout
        raise RuntimeError(f"{kind}: {error!r}") from error


def engine_of(answer: dict) -> str | None:
    """The engine the response names, if it names one (today's do not)."""
    for key in ("engine", "_engine"):
        if isinstance(answer.get(key), str):
            return answer[key]
    meta = answer.get("meta")
    return meta.get("engine") if isinstance(meta, dict) else None


def measure(query, base: str, token: str, con, runs: int, log) -> dict:
    label, kind, params, _unpacked, duck, comparable, seconds_target = query

    def ours():
        return get(base, token, kind, params)

    def theirs():
        return duck(con)

    try:
        answers = {"ours": ours(), "duck": theirs()}  # warm-up
    except RuntimeError as error:  # an HTTP error (a 503 past the report time limit): said, not measured
        log(f"{label}: FAILED {error}")
        return {"label": label, "error": str(error)[:200], "agree": False, "met": False}
    times: dict[str, list[float]] = {"ours": [], "duck": []}
    for _ in range(runs):
        for name, run in (("ours", ours), ("duck", theirs)):
            started = time.perf_counter()
            answers[name] = run()
            times[name].append(time.perf_counter() - started)
    ours_median, duck_median = median(times["ours"]), median(times["duck"])
    agree = same(comparable(answers["ours"]), answers["duck"])
    if not agree:
        print(f"DISAGREEMENT on {label}:\n ours   {comparable(answers['ours'])}\n DuckDB {answers['duck']}",
              file=sys.stderr, flush=True)
    ratio = ours_median / duck_median
    met = ratio <= RATIO_TARGET and (seconds_target is None or ours_median <= seconds_target)
    engine = engine_of(answers["ours"])
    log(f"{label}: ours {ours_median:.3f} s, DuckDB {duck_median:.3f} s, {ratio:.1f}×, same answer "
        f"{'yes' if agree else 'NO'}, target {'met' if met else 'NOT met'}" + (f", engine {engine}" if engine else "")
        + f"; DuckDB's answer: {summary(answers['duck'])}")
    return {"label": label, "ours": ours_median, "duck": duck_median, "ratio": ratio, "ours_runs": times["ours"],
            "duck_runs": times["duck"], "agree": agree, "met": met, "engine": engine,
            "seconds_target": seconds_target}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duckdb-threads", type=int, default=2)
    parser.add_argument("--unpacked-tables", default="analytics_column%",
                        help="comma-separated LIKE patterns of the tables emptied for the unpacked queries")
    parser.add_argument("--report-timeout", type=int, default=None,
                        help="REPORT_TIMEOUT_SECONDS of the server (default: the settings', 30 s; 0: none)")
    parser.add_argument("--fresh", action="store_true",
                        help="copy the synthetic set again (drops reports_bench_<events>), e.g. after an engine "
                             "change that needs the columns rebuilt from scratch")
    parser.add_argument("--only", default="", help="run only the queries whose label contains this text")
    parser.add_argument("--write", action="store_true", help="write the section into bench/RESULTS.md")
    args = parser.parse_args()

    def log(message):
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    load_before = os.getloadavg()[0]
    url = prepared_database(args.events, log, fresh=args.fresh)
    restored = restore_columns(url)  # a previous run that died while they were set aside
    if restored:
        log(f"put back the column tables a previous run left aside: {', '.join(restored)}")
    env = {"DATABASE_URL": url}
    log("migrating, building the event columns")
    manage("migrate", "--no-input", env=env)
    started = time.perf_counter()
    built = manage("build_event_columns", "--verbosity", "0", env=env).stdout.strip().splitlines()
    log(f"build_event_columns, {time.perf_counter() - started:.1f} s: {built[-1] if built else ''}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        events = conn.execute("SELECT count(*) FROM analytics_event").fetchone()[0]
        customers = conn.execute("SELECT count(*) FROM analytics_person").fetchone()[0]
        pg_version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    manage("shell", "-c", (
        "from ops_platform.accounts.models import Staff; from ops_platform.accounts.services import staff_create; "
        f"Staff.objects.filter(username='{USERNAME}').exists() or staff_create(username='{USERNAME}', "
        f"password='{PASSWORD}', roles=['analyst'])"), env=env)

    log("loading DuckDB")
    import duckdb

    started = time.perf_counter()
    con = load_duckdb(url, args.duckdb_threads)
    log(f"DuckDB loaded in {time.perf_counter() - started:.1f} s (not timed)")

    extra = {"API_THROTTLE_USER": "10000000/min", "API_THROTTLE_ANON": "10000/min"}
    if args.report_timeout is not None:
        extra["REPORT_TIMEOUT_SECONDS"] = str(args.report_timeout)
    server_env = ingest_server_env(env, **extra)
    queries = [q for q in QUERIES if args.only in q[0]]
    packed, unpacked = [q for q in queries if not q[3]], [q for q in queries if q[3]]
    results = []
    try:
        # A server per state: nothing a worker may have kept in memory about the columns crosses from one to the
        # other. gunicorn as start_gunicorn starts it (120 s worker timeout; the report's own limit is lower).
        for state, batch in (("packed", packed), ("unpacked", unpacked)):
            if not batch:
                continue
            if state == "unpacked":
                emptied = unpack_columns(url, [p.strip() for p in args.unpacked_tables.split(",") if p.strip()])
                log(f"unpacked: emptied {', '.join(emptied)}")
            port = free_port()
            server = start_gunicorn(server_env, port, args.workers)
            base = f"http://127.0.0.1:{port}"
            try:
                token = api_token(base)
                for query in batch:
                    log(f"timing {query[0]}")
                    results.append(measure(query, base, token, con, args.runs, log))
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        if unpacked:
            log(f"put back {', '.join(restore_columns(url)) or 'nothing'}")
        con.close()
    order = [q[0] for q in queries]
    results.sort(key=lambda r: order.index(r["label"]))

    def runs_text(values):
        return ", ".join(f"{v:.3f}" for v in values)

    lines = [
        SECTION,
        "",
        f"Machine: {machine()}; PostgreSQL {pg_version}, DuckDB {duckdb.__version__} on {args.duckdb_threads} "
        f"threads, in memory. `bench/reports.py --events {args.events} --runs {args.runs} --workers {args.workers}`: "
        f"the synthetic set (`bench/_synthetic.py`), {events:,} events, {customers:,} customers, local days "
        f"{D1} … {D2}; metrics computed and event columns built, as after the nights. Ours: the whole "
        f"`GET /api/v1/analytics/…/` request against gunicorn ({args.workers} sync workers, `DJANGO_DEBUG=0`, report "
        f"time limit {'the default' if args.report_timeout is None else f'{args.report_timeout} s'}), one "
        "at a time, client and server on the same cores. DuckDB: one SQL statement with the same semantics over "
        "the same events, the properties pre-extracted into columns (channel, merchant_id, amount when a JSON "
        f"number). Median of {args.runs} runs after a warm-up each, the engines alternating, in seconds. Target: "
        f"ours ≤ {RATIO_TARGET:.0f}× DuckDB (trends (d): also ≤ {SECONDS_TARGET:.0f} s). Unpacked: the column "
        f"tables ({args.unpacked_tables}) emptied, a fresh install before its first nightly build. Load average "
        f"(1 min) of the shared machine: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        "",
        "| query | ours (s) | DuckDB (s) | ratio | runs, ours | runs, DuckDB | same answer | target met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | NO | no |")
            continue
        lines.append(f"| {r['label']}" + (f" [{r['engine']}]" if r["engine"] else "")
                     + f" | {r['ours']:.3f} | {r['duck']:.3f} | {r['ratio']:.1f}× | {runs_text(r['ours_runs'])} | "
                     f"{runs_text(r['duck_runs'])} | {'yes' if r['agree'] else 'NO'} | {'yes' if r['met'] else 'no'} |")
    print("\n".join(lines))
    if args.write:
        write_results_section(SECTION, lines)
    return 0 if all(r["agree"] for r in results) else 2


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
