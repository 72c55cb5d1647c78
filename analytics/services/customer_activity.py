"""Per-customer activity summarised from all events, as SQL a domain app can wrap in its own set-based write.

``customer_activity_sql`` selects one row per person (grouped over the events, joined to the person's first-touch
facts and to the first visit for its UTM fields); ``first_touch_revenue_by_day`` sums order revenue by first-touch
channel and days since the first visit. Both run on SQLite and PostgreSQL; JSON properties are read with a safe
numeric cast, so a malformed ``amount`` counts as 0 instead of failing the whole refresh. Plain arguments only:
analytics imports no domain app.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection

from analytics.models import Event, Person, PersonFacts

ACTIVITY_COLUMNS = ("person_id", "distinct_id", "first_seen_at", "last_seen_at", "first_channel", "utm_source",
                    "utm_medium", "utm_campaign", "signed_up_at", "referrer", "first_order_at", "last_order_at",
                    "orders", "spend")


def _text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _number(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return (f"(CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' "
                f"THEN ({column} ->> '{key}')::numeric ELSE 0 END)")
    return (f"(CASE WHEN json_type({column}, '$.{key}') IN ('integer', 'real') "
            f"THEN json_extract({column}, '$.{key}') ELSE 0 END)")


def _db_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def customer_activity_sql(*, order_cutoffs: Sequence[datetime] = ()) -> tuple[str, list]:
    """SQL selecting ``ACTIVITY_COLUMNS`` (+ ``orders_since_<i>`` per cutoff) for every person with events.

    ``orders_since_<i>``: paid orders at or after ``order_cutoffs[i]`` (life-cycle rules need them).
    """
    event, person, facts = Event._meta.db_table, Person._meta.db_table, PersonFacts._meta.db_table
    since = "".join(f", SUM(CASE WHEN e.event = 'order_paid' AND e.timestamp >= %s THEN 1 ELSE 0 END) "
                    f"AS orders_since_{i}" for i in range(len(order_cutoffs)))
    since_out = "".join(f", g.orders_since_{i}" for i in range(len(order_cutoffs)))
    referrer = _text("e.properties", "referrer")
    sql = f"""
    SELECT g.person_id, p.distinct_id, g.first_seen_at, g.last_seen_at,
           COALESCE(f.first_channel, '') AS first_channel,
           COALESCE({_text("v.properties", "utm_source")}, '') AS utm_source,
           COALESCE({_text("v.properties", "utm_medium")}, '') AS utm_medium,
           COALESCE({_text("v.properties", "utm_campaign")}, '') AS utm_campaign,
           g.signed_up_at, COALESCE(g.referrer, '') AS referrer, g.first_order_at, g.last_order_at,
           g.orders, g.spend{since_out}
    FROM (
        SELECT e.person_id, MIN(e.timestamp) AS first_seen_at, MAX(e.timestamp) AS last_seen_at,
               MIN(CASE WHEN e.event = 'signup' THEN e.timestamp END) AS signed_up_at,
               MAX(CASE WHEN e.event = 'signup' AND {referrer} <> '' THEN {referrer} END) AS referrer,
               MIN(CASE WHEN e.event = 'order_paid' THEN e.timestamp END) AS first_order_at,
               MAX(CASE WHEN e.event = 'order_paid' THEN e.timestamp END) AS last_order_at,
               SUM(CASE WHEN e.event = 'order_paid' THEN 1 ELSE 0 END) AS orders,
               SUM(CASE WHEN e.event = 'order_paid' THEN {_number("e.properties", "amount")} ELSE 0 END) AS spend
               {since}
        FROM {event} e
        GROUP BY e.person_id
    ) g
    JOIN {person} p ON p.id = g.person_id
    LEFT JOIN {facts} f ON f.person_id = g.person_id
    LEFT JOIN {event} v ON v.id = f.first_visit_id
    """  # noqa: S608 - table names and fixed keys only; values travel as parameters
    return sql, [_db_time(cutoff) for cutoff in order_cutoffs]


def _days_since_first_visit() -> str:
    """SQL: whole days from a person's first visit (``f.first_visit_at``) to an event (``e.timestamp``)."""
    if connection.vendor == "postgresql":
        return "FLOOR(EXTRACT(EPOCH FROM (e.timestamp - f.first_visit_at)) / 86400)"
    return "CAST(julianday(e.timestamp) - julianday(f.first_visit_at) AS INTEGER)"


def first_touch_revenue_by_day(*, start: datetime, end: datetime, max_days: int = 90, now: datetime | None = None,
                               windows: Sequence[int] = ()) -> list[dict]:
    """Order revenue of the customers first seen in [start, end), by first-touch channel and whole days since that
    first visit (0 … max_days-1): ``[{"channel", "day", "revenue"}]``. One grouped query.

    With ``now`` and ``windows`` (days, e.g. 30, 60, 90) each row also says how mature its customers are:
    ``"mature"`` = the longest window N whose customers' first visit is at least N days before ``now`` (0 when
    none), so a caller can keep, for an N-day measure, only the customers who have had their N days."""
    event, facts = Event._meta.db_table, PersonFacts._meta.db_table
    day = _days_since_first_visit()
    windows = sorted({int(w) for w in windows}, reverse=True) if now is not None else []
    mature = ("CASE " + " ".join(f"WHEN f.first_visit_at <= %s THEN {w}" for w in windows) + " ELSE 0 END"
              if windows else "0")
    mature_params = [_db_time(now - timedelta(days=w)) for w in windows]
    sql = f"""
    SELECT CASE WHEN f.first_channel = '' THEN '(none)' ELSE f.first_channel END AS channel, {day} AS day,
           {mature} AS mature, SUM({_number("e.properties", "amount")}) AS revenue
    FROM {facts} f JOIN {event} e ON e.person_id = f.person_id AND e.event = 'order_paid'
    WHERE f.first_visit_at >= %s AND f.first_visit_at < %s AND e.timestamp >= f.first_visit_at
      AND {day} < %s
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*mature_params, _db_time(start), _db_time(end), max_days])
        rows = cursor.fetchall()
    if not windows:
        return [{"channel": channel, "day": int(offset), "revenue": float(revenue or 0)}
                for channel, offset, _mature, revenue in rows]
    return [{"channel": channel, "day": int(offset), "mature": int(level), "revenue": float(revenue or 0)}
            for channel, offset, level, revenue in rows]


def first_touch_repeat(*, start: datetime, end: datetime, days: int, now: datetime) -> dict[str, dict]:
    """Ordering again within ``days`` days of the first visit, by first-touch channel, over the customers first seen
    in [start, end) **and at least ``days`` days before ``now``** (the others have not had their days: counting them
    would read a young cohort as a worse one): ``{channel: {"buyers": customers with an order in their first
    ``days`` days, "repeaters": those with two or more}}``. A channel without such a buyer is absent. One grouped
    query."""
    event, facts = Event._meta.db_table, PersonFacts._meta.db_table
    day = _days_since_first_visit()
    sql = f"""
    SELECT channel, COUNT(*) AS buyers, SUM(CASE WHEN orders >= 2 THEN 1 ELSE 0 END) AS repeaters
    FROM (SELECT CASE WHEN f.first_channel = '' THEN '(none)' ELSE f.first_channel END AS channel, f.person_id,
                 COUNT(*) AS orders
          FROM {facts} f JOIN {event} e ON e.person_id = f.person_id AND e.event = 'order_paid'
          WHERE f.first_visit_at >= %s AND f.first_visit_at < %s AND f.first_visit_at <= %s
            AND e.timestamp >= f.first_visit_at AND {day} < %s
          GROUP BY 1, 2) buyers
    GROUP BY channel ORDER BY channel
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_time(start), _db_time(end), _db_time(now - timedelta(days=days)), days])
        return {channel: {"buyers": int(buyers), "repeaters": int(repeaters or 0)}
                for channel, buyers, repeaters in cursor.fetchall()}


def person_timeline(*, person_id: int, limit: int = 200) -> list[dict]:
    """A person's events, newest first (at most ``limit``)."""
    return list(Event.objects.filter(person_id=person_id).order_by("-timestamp", "-id")
                .values("id", "event", "timestamp", "channel", "properties")[:limit])


def order_revenue_by_group(*, groups: dict[str, object], start: datetime, end: datetime) -> dict[str, float]:
    """Revenue (``order_paid.amount``, malformed amounts as 0) in [start, end) of each group of people; a group is a
    lazy queryset of person ids. One query per group."""
    event = Event._meta.db_table
    totals = {}
    for name, person_ids in groups.items():
        try:
            people_sql, people_params = person_ids.query.sql_with_params()
        except EmptyResultSet:
            totals[name] = 0.0
            continue
        sql = (f"SELECT SUM({_number('e.properties', 'amount')}) FROM {event} e "  # noqa: S608
               f"WHERE e.event = 'order_paid' AND e.timestamp >= %s AND e.timestamp < %s "
               f"AND e.person_id IN ({people_sql})")
        with connection.cursor() as cursor:
            cursor.execute(sql, [_db_time(start), _db_time(end), *people_params])
            totals[name] = float(cursor.fetchone()[0] or 0)
    return totals


def order_stats_by_group(*, groups: dict[str, object], start: datetime, end: datetime) -> dict[str, dict]:
    """Per group of people (a lazy queryset of person ids): how many of them paid an order in [start, end)
    (``buyers``), their revenue (``revenue``) and the sum of squares of each buyer's revenue (``squares``; people
    without an order add 0 to both sums). Enough for a two-proportion test on buying and a Welch test on spend per
    person. One query per group, grouped per person in SQL."""
    event = Event._meta.db_table
    result = {}
    for name, person_ids in groups.items():
        try:
            people_sql, people_params = person_ids.query.sql_with_params()
        except EmptyResultSet:
            result[name] = {"buyers": 0, "revenue": 0.0, "squares": 0.0}
            continue
        sql = (f"SELECT COUNT(*), SUM(t), SUM(t * t) FROM (SELECT e.person_id, "  # noqa: S608
               f"SUM({_number('e.properties', 'amount')}) AS t FROM {event} e "
               f"WHERE e.event = 'order_paid' AND e.timestamp >= %s AND e.timestamp < %s "
               f"AND e.person_id IN ({people_sql}) GROUP BY e.person_id) AS per_person")
        with connection.cursor() as cursor:
            cursor.execute(sql, [_db_time(start), _db_time(end), *people_params])
            buyers, revenue, squares = cursor.fetchone()
        result[name] = {"buyers": int(buyers or 0), "revenue": float(revenue or 0), "squares": float(squares or 0)}
    return result
