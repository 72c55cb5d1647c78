"""Life-cycle history from the events: the stage counts and flows the nightly refresh would have recorded on each
past day, so "counts per day and flows between stages" have a history from the first day (a fresh demo, a new
installation with old events).

The refresh run on day X sees the events before X 00:00 (it runs at night) and records its counts under X. Here the
same rules (``users.services.customers._stage_case``) are applied to every customer on every day at once, vectorised
with NumPy over a (customers × days) grid of small integers built from grouped queries (events and orders per person
and local day): because every cut-off is a local midnight, whole days give exactly the refresh's answer.

Memory is bounded by blocks of people: the people are walked in ranges of ``BLOCK_PEOPLE`` person ids, each block's
grid gives per-day stage counts and flows (``bincount``) that are added up over the blocks, and the block's arrays are
freed before the next. The grid starts at most ``max(new, active + churn)`` days before the first day written: what
happened earlier is folded into its first column (no rule looks further back than that, except through totals and
"ever seen", which the fold keeps).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Min

from analytics.selectors import person_activity_bounds, person_activity_totals, person_daily_activity
from ops_platform.core.periods import local_day_start
from users.models import LifecycleSettings, Stage, StageDaily, StageFlow
from users.services.customers import customers_lock, lifecycle_settings_get

STAGES = [Stage.NEW, Stage.ACTIVATED, Stage.ACTIVE, Stage.AT_RISK, Stage.CHURNED, Stage.RESURRECTED]
NOT_SEEN = -1
BLOCK_PEOPLE = 10_000  # person ids per block: a 10,000 × 365-day grid is 3.7 M cells (15 MB per int32 array)
PAIRS = len(STAGES) + 1  # flow codes: (previous + 1) × PAIRS + current; previous NOT_SEEN → "" (first seen)


def _local_midnight(day: date) -> datetime:
    return local_day_start(day)


def _window(cumulative: np.ndarray, days: int) -> np.ndarray:
    """Per column d: the sum over the ``days`` days ending on d (cumulative sums along axis 1)."""
    shifted = np.zeros_like(cumulative)
    if days < cumulative.shape[1]:
        shifted[:, days:] = cumulative[:, :-days]
    return cumulative - shifted


def _running_last(active: np.ndarray) -> np.ndarray:
    """Per column d: the index of the last column ≤ d where ``active`` is true (-1 before the first)."""
    index = np.where(active, np.arange(active.shape[1], dtype=np.int32)[None, :], np.int32(-1))
    return np.maximum.accumulate(index, axis=1)


def stage_grid(*, events: np.ndarray, orders: np.ndarray, thresholds: LifecycleSettings) -> np.ndarray:
    """Stage index (into STAGES, NOT_SEEN before a customer's first event) of every customer at the end of every day,
    from per-day event and order counts (customers × days). The rules of ``_stage_case``, in the same order."""
    days = events.shape[1]
    today = np.arange(days, dtype=np.int32)[None, :]
    seen = _running_last(events > 0)
    first_seen = np.where(seen >= 0, np.argmax(events > 0, axis=1).astype(np.int32)[:, None], np.int32(NOT_SEEN))
    ordered = orders > 0
    orders_total = np.cumsum(orders, axis=1, dtype=np.int32)
    last_order = _running_last(ordered)
    first_order = np.argmax(ordered, axis=1).astype(np.int32)[:, None]
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
    return np.select(conditions, [np.int8(choice) for choice in choices], default=np.int8(index[Stage.CHURNED]))


def _block_tallies(*, person_from: int, person_to: int, origin: date, span: int, first_column: int, end: datetime,
                   folded: bool, thresholds: LifecycleSettings) -> tuple[np.ndarray, np.ndarray] | None:
    """Stage counts (days × stages) and flow counts (days × PAIRS²) over the columns ``first_column``…``span`` − 1
    of the people with ids in [``person_from``, ``person_to``); None when none of them has events."""
    rows = person_daily_activity(end=end, start=_local_midnight(origin) if folded else None,
                                 person_from=person_from, person_to=person_to)
    before = (person_activity_totals(end=_local_midnight(origin), person_from=person_from, person_to=person_to)
              if folded else None)
    ids = rows["person_id"] if before is None else np.concatenate([rows["person_id"], before["person_id"]])
    if not ids.size:
        return None
    people, person_index = np.unique(ids, return_inverse=True)
    person_index = person_index.astype(np.int32)
    del ids
    active = rows["person_id"].size
    day_index = (rows["day"] - origin.toordinal()).astype(np.int32)
    events = np.zeros((people.size, span), dtype=np.int32)
    orders = np.zeros((people.size, span), dtype=np.int32)
    # one row per (person, day): plain assignment; the folded history (one row per person) adds into column 0
    events[person_index[:active], day_index] = rows["events"]
    orders[person_index[:active], day_index] = rows["orders"]
    if before is not None:
        events[person_index[active:], 0] += before["events"].astype(np.int32)
        orders[person_index[active:], 0] += before["orders"].astype(np.int32)
    del rows, before, person_index, day_index
    grid = stage_grid(events=events, orders=orders, thresholds=thresholds)
    del events, orders

    days = span - first_column
    counts = np.zeros((days, len(STAGES)), dtype=np.int64)
    moves = np.zeros((days, PAIRS * PAIRS), dtype=np.int64)
    not_seen = np.full(people.size, NOT_SEEN, dtype=np.int8)
    for offset, column in enumerate(range(first_column, span)):
        current = grid[:, column]
        previous = grid[:, column - 1] if column > 0 else not_seen
        counts[offset] = np.bincount(current[current >= 0], minlength=len(STAGES))
        moved = (current >= 0) & (current != previous)
        codes = (previous[moved].astype(np.int32) + 1) * PAIRS + current[moved]
        moves[offset] = np.bincount(codes, minlength=PAIRS * PAIRS)
    return counts, moves


def lifecycle_history_backfill(*, date_to: date, date_from: date | None = None, replace: bool = False,
                               block_people: int = BLOCK_PEOPLE) -> int:
    """Write the stage counts and flows the nightly refresh would have recorded on ``date_from``…``date_to``.

    Without ``date_from``: from the day after the first event — and, unless ``replace``, only up to the day before
    the first day already recorded (the nightly refreshes' rows, recorded with the thresholds of their day, are kept;
    only the gap before them is filled). With ``date_from`` (or ``replace``) the days of the range are replaced.
    People are processed ``block_people`` person ids at a time (the answer does not depend on it). Returns the number
    of days written."""
    end = _local_midnight(date_to)
    bounds = person_activity_bounds(end=end)
    if bounds is None:
        return 0
    first_day, low, high = bounds
    if date_from is None and not replace:
        recorded = StageDaily.objects.aggregate(first=Min("date"))["first"]
        if recorded is not None and recorded <= date_to:
            date_to = recorded - timedelta(days=1)
            end = _local_midnight(date_to)
    date_from = max(date_from or first_day + timedelta(days=1), first_day + timedelta(days=1))
    if date_from > date_to:
        return 0
    thresholds = lifecycle_settings_get()
    # The rule looking furthest back: resurrected (active + churn days); "new" looks new_days back. Earlier days are
    # folded into the grid's first column, which then sits one such span before the previous day of date_from.
    lookback = max(thresholds.new_days, thresholds.active_days + thresholds.churn_days)
    origin = max(first_day, date_from - timedelta(days=2 + lookback))
    folded = origin > first_day
    span = (date_to - timedelta(days=1) - origin).days + 1  # the refresh on date_to sees events up to the day before
    first_column = (date_from - origin).days - 1  # the column of the day before date_from (label = column's day + 1)
    days = span - first_column
    counts = np.zeros((days, len(STAGES)), dtype=np.int64)
    moves = np.zeros((days, PAIRS * PAIRS), dtype=np.int64)
    for person_from in range(low, high + 1, block_people):
        tallies = _block_tallies(person_from=person_from, person_to=person_from + block_people, origin=origin,
                                 span=span, first_column=first_column, end=end, folded=folded,
                                 thresholds=thresholds)
        if tallies is not None:
            counts += tallies[0]
            moves += tallies[1]
            del tallies

    daily, flows = [], []
    for offset in range(days):
        label = date_from + timedelta(days=offset)
        daily += [StageDaily(date=label, stage=STAGES[n], customers=int(c)) for n, c in enumerate(counts[offset]) if c]
        for code in np.flatnonzero(moves[offset]):
            source, target = divmod(int(code), PAIRS)
            flows.append(StageFlow(date=label, from_stage="" if source == 0 else STAGES[source - 1],
                                   to_stage=STAGES[target], customers=int(moves[offset, code])))
    with transaction.atomic():
        customers_lock()  # not while a refresh writes today's rows
        StageDaily.objects.filter(date__gte=date_from, date__lte=date_to).delete()
        StageFlow.objects.filter(date__gte=date_from, date__lte=date_to).delete()
        StageDaily.objects.bulk_create(daily, batch_size=2000)
        StageFlow.objects.bulk_create(flows, batch_size=2000)
    return days
