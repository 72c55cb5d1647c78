"""Golden operating time (运营黄金时间): when in the week an event happens, as a 7×24 grid in local time.

``matrix[d][h]`` counts the events named ``event`` stored in [D1 00:00, D2+1 00:00) local time whose local
weekday is d (0 = Monday … 6 = Sunday) and local hour is h. ``top`` lists the busiest non-empty slots,
most events first (ties: earlier in the week first).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from analytics.models import Event
from analytics.services.filters import events_restricted, where_sql
from ops_platform.core.periods import local_range

TOP_SLOTS = 5


def golden_time_compute(*, event: str, date_from: date, date_to: date, top: int = TOP_SLOTS,
                        engine: str | None = None, where=(), people=None, exclude_people=None) -> dict:
    """``{"event", "total", "matrix": [7 × [24 counts]], "top": [{"weekday", "hour", "count"}]}``."""
    engine = engine or ("sql" if connection.vendor == "postgresql" else "pandas")
    start, end = local_range(date_from, date_to)
    matrix = np.zeros((7, 24), dtype="int64")
    restriction = {"people": people, "exclude_people": exclude_people}
    if engine == "sql":
        condition, condition_params = where_sql(tuple(where), **restriction)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT extract(isodow FROM l)::int - 1, extract(hour FROM l)::int, count(*) FROM ("  # noqa: S608
                " SELECT timestamp AT TIME ZONE %s AS l FROM analytics_event"
                f" WHERE event = %s AND timestamp >= %s AND timestamp < %s AND {condition}) AS e GROUP BY 1, 2",
                [timezone.get_current_timezone_name(), event, start, end, *condition_params],
            )
            cells = cursor.fetchall()
        if cells:
            weekday, hour, count = (np.array(column, dtype="int64") for column in zip(*cells, strict=True))
            matrix[weekday, hour] = count
    else:
        rows = events_restricted(Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end),
                                 where=tuple(where), **restriction)
        stamps = pd.to_datetime(pd.Series(list(rows.values_list("timestamp", flat=True)), dtype="object"), utc=True)
        if len(stamps):
            local = stamps.dt.tz_convert(timezone.get_current_timezone_name())
            np.add.at(matrix, (local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()), 1)
    flat = matrix.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))
    slots = [{"weekday": int(i // 24), "hour": int(i % 24), "count": int(flat[i])} for i in order[:top] if flat[i]]
    return {"event": event, "total": int(flat.sum()), "matrix": matrix.tolist(), "top": slots}
