"""Stickiness (粘性): how many customers use an event day after day (DESIGN.md additions, "Stickiness").

For event E and local days D1…D2 (TIME_ZONE), a customer is **active** on a local day when they have an E event on
it (``where`` filters and ``people`` / ``exclude_people`` as in trends):

- ``dau`` of day d = customers active on d; ``wau`` = active on any of the 7 days d−6…d; ``mau`` = on any of the 30
  days d−29…d; ``dau_mau`` = dau / mau (null when mau is 0); ``complete`` = the day d has ended; a day that has not
  started (after today) has no value at all (``null``: nobody can have been active on it yet, which is not 0);
- ``active_days_7`` / ``active_days_30``: for k = 1…7 (1…30), the customers active on exactly k of the 7 (30) days
  ending ``active_days_through``: D2, or yesterday when D2 is today or later (a day in progress or to come would
  count as a day nobody was active on); all three null when the range starts today or later (no complete day).

Computed from the distinct (customer, local day) pairs of D1−29 … D2 (one grouped query, both databases), then, per
customer, each active day counts them in every window until the window reaches their next active day: disjoint
intervals, added up with one difference array (numpy), no loop over customers or days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import Event
from analytics.services.filters import PropertyFilter, events_where
from ops_platform.core.periods import local_day_start, local_today, period_is_complete

WINDOWS = {"dau": 1, "wau": 7, "mau": 30}
MAX_WINDOW = 30


def _active_pairs(*, event, first_day, last_day, where, people, exclude_people) -> tuple[np.ndarray, np.ndarray]:
    events = Event.objects.filter(event=event, timestamp__gte=local_day_start(first_day),
                                  timestamp__lt=local_day_start(last_day + timedelta(days=1)))
    events = events_where(events, where)
    if people is not None:
        events = events.filter(person_id__in=people)
    if exclude_people is not None:
        events = events.exclude(person_id__in=exclude_people)
    rows = (events.annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
            .values_list("person_id", "day").order_by().distinct())
    persons, days = [], []
    for person, day in rows.iterator(chunk_size=20_000):
        persons.append(person)
        days.append((day - first_day).days)
    return np.array(persons, np.int64), np.array(days, np.int64)


def _in_window(persons: np.ndarray, days: np.ndarray, size: int, window: int) -> np.ndarray:
    """Per day index 0…size−1: customers with an active day in the ``window`` days ending on it."""
    if not len(days):
        return np.zeros(size, np.int64)
    order = np.lexsort((days, persons))
    persons, days = persons[order], days[order]
    following = np.full(len(days), size, np.int64)
    same = persons[1:] == persons[:-1]
    following[:-1][same] = days[1:][same]
    ends = np.minimum(np.minimum(days + window, following), size)
    change = np.zeros(size + 1, np.int64)
    np.add.at(change, days, 1)
    np.add.at(change, ends, -1)
    return np.cumsum(change)[:size]


def _distribution(persons: np.ndarray, days: np.ndarray, last: int, window: int) -> list[dict]:
    """Per k, the customers active on exactly k of the ``window`` days ending on day index ``last``."""
    inside = (days > last - window) & (days <= last)
    _ids, counts = np.unique(persons[inside], return_counts=True)
    per_k = np.bincount(counts, minlength=window + 1)
    return [{"days": k, "customers": int(per_k[k])} for k in range(1, window + 1)]


def stickiness_compute(*, event: str, date_from: date, date_to: date, where: Sequence[PropertyFilter] = (),
                       people=None, exclude_people=None) -> dict:
    """``{"event", "days": [{"date", "dau", "wau", "mau", "dau_mau", "complete"}], "active_days_7": [{"days",
    "customers"}], "active_days_30": [...]}``."""
    first_day = date_from - timedelta(days=MAX_WINDOW - 1)
    persons, days = _active_pairs(event=event, first_day=first_day, last_day=date_to, where=tuple(where),
                                  people=people, exclude_people=exclude_people)
    size = (date_to - first_day).days + 1
    counts = {name: _in_window(persons, days, size, window) for name, window in WINDOWS.items()}
    offset = MAX_WINDOW - 1
    today = local_today()
    rows = []
    for index in range(offset, size):
        day = first_day + timedelta(days=index)
        if day > today:  # not started
            rows.append({"date": day.isoformat(), "dau": None, "wau": None, "mau": None, "dau_mau": None,
                         "complete": False})
            continue
        dau, wau, mau = (int(counts[name][index]) for name in ("dau", "wau", "mau"))
        rows.append({"date": day.isoformat(), "dau": dau, "wau": wau, "mau": mau,
                     "dau_mau": dau / mau if mau else None, "complete": period_is_complete(day, "day")})
    result = {"event": event, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "days": rows,
              "active_days_through": None, "active_days_7": None, "active_days_30": None}
    through = min(date_to, today - timedelta(days=1))
    if through >= date_from:  # else no day of the range is complete yet: no distribution (null), not zeros
        last = (through - first_day).days  # ≥ 29: its 30 days were read
        result.update(active_days_through=through.isoformat(), active_days_7=_distribution(persons, days, last, 7),
                      active_days_30=_distribution(persons, days, last, 30))
    return result
