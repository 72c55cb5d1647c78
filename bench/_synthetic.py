"""The synthetic benchmark data set: N customers, M events over D days, eight channels, in PostgreSQL.

Generated column-wise with NumPy (seeded, so every run and every benchmark sees the same data) and
loaded with COPY into a scratch database migrated by Django, indexes dropped during the load and built
afterwards, then VACUUM ANALYZE (index-only scans need the visibility map). The database is kept and
reused while its recorded parameters match, so several benchmarks share one load.

    from _synthetic import synthetic_database
    url = synthetic_database(customers=1_000_000, events=10_000_000, days=90)
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
from _common import BENCH_PG_ADMIN_URL, database_url, manage

CHANNELS = np.array(["organic", "app_store", "wechat", "douyin", "xiaohongshu", "baidu_sem", "offline_flyer",
                     "referral"])
CHANNEL_SHARE = np.array([0.20, 0.14, 0.16, 0.15, 0.10, 0.10, 0.06, 0.09])
# After the first visit: what a customer does next, in funnel order, with drop-off.
NAMES = np.array(["visit", "signup", "view_merchant", "add_to_cart", "order_paid", "order_received", "review"])
NAME_SHARE = np.array([0.34, 0.05, 0.24, 0.14, 0.10, 0.09, 0.04])
HOURLY = np.array([4, 2, 1, 1, 1, 2, 5, 10, 14, 12, 14, 30, 34, 18, 10, 9, 12, 24, 36, 34, 24, 18, 12, 7], float)
END = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Asia/Shanghai
CHUNK = 1_000_000


@dataclass(frozen=True)
class Spec:
    customers: int
    events: int
    days: int
    seed: int = 20261101
    version: int = 3  # bump when the generator changes: a recorded set of another version is rebuilt

    @property
    def database(self) -> str:
        return f"opsbench_v{self.version}_{self.customers}_{self.events}_{self.days}_{self.seed}"

    @property
    def start(self) -> datetime:
        return END - timedelta(days=self.days)


def _recorded(spec: Spec) -> bool:
    try:
        with psycopg.connect(database_url(spec.database), connect_timeout=3) as conn:
            row = conn.execute("SELECT value FROM bench_meta WHERE key = 'spec'").fetchone()
            return row is not None and row[0] == repr(asdict(spec))
    except psycopg.Error:
        return False


def _events_frame(rng: np.random.Generator, spec: Spec, customers: np.ndarray, first_day: np.ndarray,
                  channel: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """The events of ``customers`` (person ids; ``first_day``, ``channel``, ``counts`` per customer, same order):
    the first a visit carrying the acquisition channel, then a mix of funnel events over the following days."""
    local = np.repeat(np.arange(customers.size), counts)
    owner = customers[local]
    starts = np.cumsum(counts) - counts
    position = np.arange(counts.sum()) - np.repeat(starts, counts)
    n = owner.size
    # The first event on the first day; the others spread over the rest of the period (no pile-up at its end).
    fraction = np.where(position == 0, 0.0, rng.random(n))
    day = first_day[local] + (spec.days - first_day[local]) * fraction
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    seconds = (np.floor(day) * 86400 + hour * 3600 + rng.integers(0, 3600, n)).astype("int64")
    seconds = np.where(position == 0, seconds, np.maximum(seconds, np.repeat(seconds[starts], counts) + 1))
    seconds = np.minimum(seconds, spec.days * 86400 - 1)
    names = np.where(position == 0, "visit", NAMES[rng.choice(len(NAMES), n, p=NAME_SHARE)])
    own_channel = CHANNELS[channel[local]]
    event_channel = np.where(position == 0, own_channel, np.where(names == "visit", "direct", ""))
    amount = np.round(rng.lognormal(3.6, 0.5, n), 2)
    merchant = rng.integers(1, 10_001, n)
    is_visit, is_order = names == "visit", names == "order_paid"
    props = np.full(n, "{}", dtype=object)
    props[is_visit] = pd.Series(event_channel[is_visit]).radd('{"channel": "').add('"}').to_numpy()
    props[is_order] = ('{"order_id": "o' + pd.Series(np.flatnonzero(is_order)).astype(str) + '", "amount": '
                       + pd.Series(amount[is_order]).astype(str) + ', "merchant_id": "M'
                       + pd.Series(merchant[is_order]).astype(str).str.zfill(5) + '"}').to_numpy()
    timestamps = pd.Timestamp(spec.start) + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({
        "uuid": list(_uuids(rng, n)), "event": names,
        "distinct_id": pd.Series(owner).astype(str).str.zfill(8).radd("u").to_numpy(), "person_id": owner,
        "timestamp": timestamps, "channel": event_channel, "properties": props,
    })


def _uuids(rng: np.random.Generator, count: int):
    raw = rng.integers(0, 2**63, size=(count, 2), dtype=np.int64).view(np.uint64)
    hi = (raw[:, 0] & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    lo = (raw[:, 1] & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    return (f"{int(high):016x}{int(low):016x}" for high, low in zip(hi, lo, strict=True))


def _copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, quoting=csv.QUOTE_NONNUMERIC)  # "" stays a string, not NULL
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def synthetic_database(*, customers: int, events: int, days: int = 90, seed: int = 20261101,
                       log=print) -> str:
    """The URL of a PostgreSQL database holding the data set (built now unless an identical one exists)."""
    spec = Spec(customers=customers, events=events, days=days, seed=seed)
    url = database_url(spec.database)
    # One builder at a time per data set: a second benchmark started meanwhile waits, then reuses it.
    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as guard:
        guard.execute("SELECT pg_advisory_lock(hashtext(%s))", [spec.database])
        if _recorded(spec):
            log(f"reusing {spec.database}")
            return url
        _build(spec, url, log)
    return url


def _build(spec: Spec, url: str, log) -> None:
    customers, events, days, seed = spec.customers, spec.events, spec.days, spec.seed
    started = time.perf_counter()
    with psycopg.connect(BENCH_PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{spec.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{spec.database}"')
    manage("migrate", "--no-input", env={"DATABASE_URL": url})
    rng = np.random.default_rng(seed)
    channel = rng.choice(len(CHANNELS), customers, p=CHANNEL_SHARE)
    first_day = rng.uniform(0, days, customers)
    counts = 1 + rng.poisson(max(events / customers - 1, 0), customers)
    counts = np.maximum(1, np.round(counts * events / counts.sum())).astype(int)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text)")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('analytics_event', 'analytics_person') "
            "AND indexname NOT LIKE '%%_pkey'").fetchall()
        constraints = conn.execute(
            "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text IN ('analytics_event', 'analytics_person') AND contype = 'u'").fetchall()
        for name, table, _definition in constraints:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        indexes = [(name, definition) for name, definition in indexes if name not in {c[0] for c in constraints}]
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        now = datetime.now(UTC)
        for first in range(0, customers, CHUNK):
            ids = np.arange(first + 1, min(first + CHUNK, customers) + 1)
            _copy_frame(conn, "analytics_person", pd.DataFrame({
                "id": ids, "distinct_id": pd.Series(ids).astype(str).str.zfill(8).radd("u"), "created_at": now}))
        loaded = 0
        batch = max(1, int(CHUNK / max(events / customers, 1)))
        for first in range(0, customers, batch):
            ids = np.arange(first + 1, min(first + batch, customers) + 1)
            frame = _events_frame(rng, spec, ids, first_day[first:first + batch], channel[first:first + batch],
                                  counts[first:first + batch])
            frame["received_at"] = now
            _copy_frame(conn, "analytics_event", frame)
            loaded += len(frame)
            log(f"  loaded {loaded:,} events ({time.perf_counter() - started:.0f} s)")
        conn.execute("SELECT setval(pg_get_serial_sequence('analytics_person', 'id'), max(id)) FROM analytics_person")
        conn.execute("SELECT setval(pg_get_serial_sequence('analytics_event', 'id'), max(id)) FROM analytics_event")
        for name, table, definition in constraints:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE analytics_event")
        conn.execute("VACUUM ANALYZE analytics_person")
    # The COPY went around events_load: compute what it keeps up to date (facts per customer, counts).
    manage("rebuild_event_facts", env={"DATABASE_URL": url})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("INSERT INTO bench_meta VALUES ('spec', %s), ('events', %s)", [repr(asdict(spec)), str(loaded)])
    log(f"built {spec.database}: {loaded:,} events, {customers:,} customers in {time.perf_counter() - started:.0f} s")
