"""Per-merchant aggregates of the event stream, for the merchants app (plain arguments, no domain import).

Orders and reviews carry the merchant's code in a property (``merchant_id``). Everything is grouped in the
database: one query for orders (per merchant and customer, then per merchant), one for reviews, one for a
merchant's daily trend. Never a query per merchant.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from django.db import connection
from django.db.models import Count, FloatField, Q, Sum, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from analytics.models import Event

ORDER_COLUMNS = ["merchant", "orders", "gmv", "customers", "repeat_customers"]
REVIEW_COLUMNS = ["merchant", "review_count", "rating_sum", "low_ratings"]


def merchant_order_aggregates(*, start: datetime, end: datetime, event: str = "order_paid",
                              key: str = "merchant_id", amount: str = "amount") -> pd.DataFrame:
    """Per merchant code, ``event``s in [start, end): orders, GMV (sum of ``amount``), distinct customers and
    customers with two or more orders. One query (a grouped subquery per merchant and customer)."""
    per_customer = (Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end)
                    .annotate(m=KeyTextTransform(key, "properties"),
                              a=Cast(KeyTextTransform(amount, "properties"), FloatField()))
                    .exclude(m=None).values("m", "person_id").annotate(n=Count("id"), g=Sum("a")).order_by())
    inner, params = per_customer.query.sql_with_params()
    # ``inner`` is SQL compiled by Django with its values in ``params``: nothing of the caller is pasted in.
    sql = ("SELECT pc.m, SUM(pc.n), COALESCE(SUM(pc.g), 0), COUNT(*), SUM(CASE WHEN pc.n >= 2 THEN 1 ELSE 0 END) "
           "FROM (" + inner + ") AS pc GROUP BY pc.m")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=ORDER_COLUMNS)
    return frame.astype({"merchant": str, "orders": "int64", "gmv": "float64", "customers": "int64",
                         "repeat_customers": "int64"})


def merchant_review_aggregates(*, start: datetime, end: datetime, event: str = "review", key: str = "merchant_id",
                               rating: str = "rating", low_at_most: int = 2) -> pd.DataFrame:
    """Per merchant code, ``event``s in [start, end): how many, the sum of ratings, how many at most
    ``low_at_most``. One grouped query."""
    value = Cast(KeyTextTransform(rating, "properties"), FloatField())
    rows = (Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end)
            .annotate(m=KeyTextTransform(key, "properties"), r=value).exclude(m=None)
            .values("m").annotate(n=Count("id"), s=Sum("r"), low=Count("id", filter=Q(r__lte=low_at_most)))
            .order_by().values_list("m", "n", "s", "low"))
    frame = pd.DataFrame.from_records(list(rows), columns=REVIEW_COLUMNS)
    return frame.astype({"merchant": str, "review_count": "int64", "rating_sum": "float64", "low_ratings": "int64"})


def merchant_daily_orders(*, merchant: str, start: datetime, end: datetime, event: str = "order_paid",
                          key: str = "merchant_id", amount: str = "amount") -> dict[date, dict]:
    """One merchant's orders and GMV per local day in [start, end). One grouped query. The code is compared as
    text (``->>``), like the nightly aggregates: a numeric ``merchant_id`` 123 is merchant "123"."""
    rows = (Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end)
            .alias(m=Cast(KeyTextTransform(key, "properties"), TextField())).filter(m=merchant)
            .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()),
                      a=Cast(KeyTextTransform(amount, "properties"), FloatField()))
            .values("day").annotate(orders=Count("id"), gmv=Sum("a")).order_by())
    return {row["day"]: {"orders": row["orders"], "gmv": float(row["gmv"] or 0)} for row in rows}


def merchants_customer_counts(*, merchants: list[str], start: datetime, end: datetime, event: str = "order_paid",
                              key: str = "merchant_id") -> dict[str, dict]:
    """For a set of merchant codes: orders and GMV of ``event`` in [start, end), per code. One grouped query."""
    rows = (Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end)
            .annotate(m=Cast(KeyTextTransform(key, "properties"), TextField()),
                      a=Cast(KeyTextTransform("amount", "properties"), FloatField()))
            .filter(m__in=merchants).values("m")
            .annotate(orders=Count("id"), gmv=Sum("a"), customers=Count("person_id", distinct=True)).order_by())
    return {row["m"]: {"orders": row["orders"], "gmv": float(row["gmv"] or 0), "customers": row["customers"]}
            for row in rows}
