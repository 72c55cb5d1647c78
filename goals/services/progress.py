"""Progress and pace of goals: the value now, the value expected by now at an even pace, and the verdict.

Pace: ``expected = target × elapsed share of the period`` for sums; for levels and rates the line runs from the
baseline to the target (``baseline + (target − baseline) × elapsed``) and the comparison is of the change from the
baseline. Ahead at ``PACE_AHEAD`` (105 %) of expected or more, on track at ``PACE_ON_TRACK`` (95 %) or more, else
behind — except that a goal counted in whole units (merchants, customers, tickets: a ``count`` metric, sum or level) is
behind only when it is at least one whole unit short of expected. On 2 December a goal of one merchant gone live
expects 0.06: with none yet there was nothing more to do, and 95 % of 0.06 would call it behind. So it stays on track
until the even path reaches 1 (value + 1 ≤ expected, in the goal's direction). Money, percent and ratio goals have
no whole unit and keep the 95 % rule.

Both sides are taken at the same day, the goal's *measured on* day (goals.metrics.goal_measurements): the nightly
metrics stop at yesterday, so on day D a sum is measured through D − 1; a level through its latest complete
measurement (a tier week once it has ended), a rate through the last complete day. A goal with nothing measured
in its period yet (its first day; a core-merchant goal before the first week of the period has ended) is
``pending``: it shows its baseline and is neither ahead nor behind.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from goals.metrics import BASELINE_KINDS, COUNT, goal_measurements, goal_series, metric_spec
from goals.models import Goal, GoalProgress
from goals.periods import elapsed_fraction

PACE_AHEAD = 1.05
PACE_ON_TRACK = 0.95
AHEAD = "ahead"
ON_TRACK = "on_track"
BEHIND = "behind"
PENDING = "pending"  # nothing in the period measured yet: not judged
PACES = (AHEAD, ON_TRACK, BEHIND, PENDING)


def _start_value(goal: Goal) -> float:
    return float(goal.baseline or 0) if metric_spec(goal.metric).kind in BASELINE_KINDS else 0.0


def goal_expected(*, goal: Goal, on: date) -> float:
    """The value expected by the end of ``on`` at an even pace from the start value to the target."""
    start = _start_value(goal)
    share = elapsed_fraction(start=goal.period_start, end=goal.period_end, on=on)
    return start + (float(goal.target) - start) * share


def pace_of(*, value: float, expected: float, start: float = 0.0, whole_units: bool = False) -> str:
    """Ahead / on track / behind: the change made from ``start`` against the change expected by now.

    Before anything is expected (the period's first moment) a goal is on track unless it has already moved the
    right way. A falling target (a level below its baseline) is judged the same way, in its direction.
    With ``whole_units`` (a count) a goal is behind only when at least one whole unit short of ``expected``: less
    than one unit short is on track, since no whole unit more could have been done yet.
    """
    wanted = expected - start
    made = value - start
    if wanted == 0:
        return AHEAD if made > 0 else ON_TRACK
    ratio = made / wanted
    if ratio >= PACE_AHEAD:
        return AHEAD
    if ratio >= PACE_ON_TRACK:
        return ON_TRACK
    if whole_units and not _a_whole_unit_short(value=value, expected=expected, rising=wanted > 0):
        return ON_TRACK
    return BEHIND


def _a_whole_unit_short(*, value: float, expected: float, rising: bool) -> bool:
    """At least one whole unit behind the even path, in the goal's direction (``value + 1`` is exact for a count,
    so a tie at exactly one unit short is behind without a float subtraction deciding it)."""
    return value + 1 <= expected if rising else value - 1 >= expected


def goal_pace(*, goal: Goal, value: float, expected: float) -> str:
    """``pace_of`` for a goal: from its start value, in whole units when its metric counts them (goals.metrics)."""
    return pace_of(value=value, expected=expected, start=_start_value(goal),
                   whole_units=metric_spec(goal.metric).unit == COUNT)


def goal_progress_share(*, goal: Goal, value: float) -> float:
    """How far along: value / target for sums; for levels the share of the way from the baseline to the target.
    Never below 0."""
    start = _start_value(goal)
    span = float(goal.target) - start
    return max((value - start) / span, 0.0) if span else 0.0


def measured_through(on: date) -> date:
    """The last complete day as of ``on``: ``on`` itself for a past day, yesterday from today on."""
    return min(on, timezone.localdate() - timedelta(days=1))


def goal_summaries(*, goals: list[Goal], on: date) -> list[dict]:
    """The contract shape the desk, the digest and the pages share (see goals.selectors.goals_for_user), measured
    through the last complete day (``measured_through``; ``"as_of"`` in each row) and judged at the goal's
    ``"measured_on"`` day (None: nothing measured in the period yet, pace ``pending``). ``"start"`` is where the
    goal started: its baseline for levels and rates, 0 for sums."""
    on = measured_through(on)
    measurements = goal_measurements(goals=goals, date_to=on)
    result = []
    for goal in goals:
        spec = metric_spec(goal.metric)
        series, measured_on = measurements.get(goal.pk, ([], None))
        start = _start_value(goal)
        value = round(series[-1][1] if series else start, 4)
        if measured_on is None:
            expected, pace = round(start, 4), PENDING
        else:
            expected = round(goal_expected(goal=goal, on=measured_on), 4)
            pace = goal_pace(goal=goal, value=value, expected=expected)
        result.append({
            "id": goal.pk, "title": goal.title, "level": goal.level, "metric": goal.metric,
            "metric_label": spec.label_text, "unit": spec.unit, "kind": spec.kind,
            "period_kind": goal.period_kind, "period_start": goal.period_start, "period_end": goal.period_end,
            "target": float(goal.target), "baseline": float(goal.baseline) if goal.baseline is not None else None,
            "value": value, "progress": goal_progress_share(goal=goal, value=value), "expected": expected,
            "pace": pace, "start": start, "measured_on": measured_on,
            "team_id": goal.team_id, "owner_id": goal.owner_id, "parent_id": goal.parent_id, "as_of": on,
            "url": reverse("goals:detail", args=[goal.pk]),
        })
    return result


def goal_progress_record(*, on: date | None = None, goals: list[Goal] | None = None, backfill: bool = False) -> int:
    """Store each goal's value and expected value for ``on`` (yesterday's goals by default: every goal whose period
    holds ``on``); with ``backfill`` every day of the period up to ``on``. Upserts on (goal, date), so a rerun
    replaces the same rows. Returns the rows written. One grouped query per metric family + one write."""
    on = on or timezone.localdate()
    if goals is None:
        goals = list(Goal.objects.filter(period_start__lte=on, period_end__gte=on))
    if not goals:
        return 0
    series = goal_series(goals=goals, date_to=on)
    rows = []
    for goal in goals:
        days = series.get(goal.pk, [])
        if not backfill:
            days = days[-1:]
        rows += [GoalProgress(goal=goal, date=day, value=value, expected=goal_expected(goal=goal, on=day))
                 for day, value in days]
    with transaction.atomic():
        GoalProgress.objects.bulk_create(rows, batch_size=2000, update_conflicts=True,
                                         unique_fields=["goal", "date"],
                                         update_fields=["value", "expected", "computed_at"])
    return len(rows)
