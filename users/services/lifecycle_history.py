"""Life-cycle history from the events: the stage counts and flows the nightly refresh would have recorded on each
past day, so "counts per day and flows between stages" have a history from the first day (a fresh demo, a new
installation with old events).

The refresh run on day X sees the events before X 00:00 (it runs at night) and records its counts under X. Here the
same rules (``users.services.customers._stage_case``) are applied to every customer on every day at once, vectorised
with NumPy over a (customers × days) grid built from one grouped query (events and orders per person and local day):
because every cut-off is a local midnight, whole days give exactly the refresh's answer. Memory is customers × days
small integers: meant for the demo and sets of up to a few hundred thousand customers; the nightly refresh keeps the
history from then on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from analytics.selectors import person_daily_activity
from users.models import LifecycleSettings, Stage, StageDaily, StageFlow
from users.services.customers import lifecycle_settings_get

STAGES = [Stage.NEW, Stage.ACTIVATED, Stage.ACTIVE, Stage.AT_RISK, Stage.CHURNED, Stage.RESURRECTED]
NOT_SEEN = -1


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_current_timezone())


def _window(cumulative: np.ndarray, days: int) -> np.ndarray:
    """Per column d: the sum over the ``days`` days ending on d (cumulative sums along axis 1)."""
    shifted = np.zeros_like(cumulative)
    if days < cumulative.shape[1]:
        shifted[:, days:] = cumulative[:, :-days]
    return cumulative - shifted


def _running_last(active: np.ndarray) -> np.ndarray:
    """Per column d: the index of the last column ≤ d where ``active`` is true (-1 before the first)."""
    index = np.where(active, np.arange(active.shape[1])[None, :], -1)
    return np.maximum.accumulate(index, axis=1)


def stage_grid(*, events: np.ndarray, orders: np.ndarray, thresholds: LifecycleSettings) -> np.ndarray:
    """Stage index (into STAGES, NOT_SEEN before a customer's first event) of every customer at the end of every day,
    from per-day event and order counts (customers × days). The rules of ``_stage_case``, in the same order."""
    days = events.shape[1]
    today = np.arange(days)[None, :]
    seen = _running_last(events > 0)
    first_seen = np.where(seen >= 0, np.argmax(events > 0, axis=1)[:, None], NOT_SEEN)
    ordered = orders > 0
    orders_total = np.cumsum(orders, axis=1)
    last_order = _running_last(ordered)
    first_order = np.argmax(ordered, axis=1)[:, None]
    since_active = _window(orders_total, thresholds.active_days)
    since_gap = _window(orders_total, thresholds.active_days + thresholds.churn_days)
    # "within N days of the refresh the next midnight": an event on day k counts when k ≥ d + 1 − N
    new_from, active_from, churn_from = (today + 1 - thresholds.new_days, today + 1 - thresholds.active_days,
                                         today + 1 - thresholds.churn_days)
    never = orders_total == 0
    conditions = [
        seen < 0,
        never & (first_seen >= new_from),
        never & (seen >= active_from),
        never,
        (since_active > 0) & (since_gap == since_active) & (orders_total > since_gap),
        (orders_total == 1) & (first_order >= active_from),
        last_order >= active_from,
        last_order >= churn_from,
    ]
    index = {stage: n for n, stage in enumerate(STAGES)}
    choices = [NOT_SEEN, index[Stage.NEW], index[Stage.AT_RISK], index[Stage.CHURNED], index[Stage.RESURRECTED],
               index[Stage.ACTIVATED], index[Stage.ACTIVE], index[Stage.AT_RISK]]
    return np.select(conditions, choices, default=index[Stage.CHURNED]).astype(np.int8)


def lifecycle_history_backfill(*, date_to: date, date_from: date | None = None) -> int:
    """Replace the stage counts and flows recorded for ``date_from``…``date_to`` (default: from the day after the
    first event) with the ones the nightly refresh would have recorded. Returns the number of days written."""
    thresholds = lifecycle_settings_get()
    rows = person_daily_activity(end=_local_midnight(date_to))
    if not rows:
        return 0
    people, person_index = np.unique(np.array([row[0] for row in rows], dtype=np.int64), return_inverse=True)
    first_day = min(row[1] for row in rows)
    last_day = date_to - timedelta(days=1)  # the refresh on date_to sees the events up to the day before
    span = (last_day - first_day).days + 1
    day_index = np.array([(row[1] - first_day).days for row in rows])
    events = np.zeros((people.size, span), dtype=np.int32)
    orders = np.zeros((people.size, span), dtype=np.int32)
    np.add.at(events, (person_index, day_index), np.array([row[2] for row in rows], dtype=np.int32))
    np.add.at(orders, (person_index, day_index), np.array([row[3] for row in rows], dtype=np.int32))
    grid = stage_grid(events=events, orders=orders, thresholds=thresholds)

    date_from = max(date_from or first_day + timedelta(days=1), first_day + timedelta(days=1))
    daily, flows = [], []
    pairs = len(STAGES) + 1  # previous stage NOT_SEEN → "" (first seen)
    for column in range((date_from - first_day).days - 1, span):
        label = first_day + timedelta(days=column + 1)
        current = grid[:, column]
        previous = grid[:, column - 1] if column > 0 else np.full(people.size, NOT_SEEN, dtype=np.int8)
        counts = np.bincount(current[current >= 0], minlength=len(STAGES))
        daily += [StageDaily(date=label, stage=STAGES[n], customers=int(c)) for n, c in enumerate(counts) if c]
        moved = (current >= 0) & (current != previous)
        moves = np.bincount((previous[moved] + 1) * pairs + current[moved], minlength=pairs * pairs)
        for code in np.flatnonzero(moves):
            source, target = divmod(int(code), pairs)
            flows.append(StageFlow(date=label, from_stage="" if source == 0 else STAGES[source - 1],
                                   to_stage=STAGES[target], customers=int(moves[code])))
    with transaction.atomic():
        StageDaily.objects.filter(date__gte=date_from, date__lte=date_to).delete()
        StageFlow.objects.filter(date__gte=date_from, date__lte=date_to).delete()
        StageDaily.objects.bulk_create(daily, batch_size=2000)
        StageFlow.objects.bulk_create(flows, batch_size=2000)
    return (date_to - date_from).days + 1
