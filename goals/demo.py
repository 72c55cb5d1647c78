"""The goals part of the demo data set: a team per kind with the demo logins as leads and members, the company
revenue goal for the month and the quarter that hold ``end``, team goals under them and personal goals under
those, with targets set from the data so the pace varies believably (some ahead, some on track, some behind), and
their progress history backfilled (the goal page's chart has a line on a fresh ``make run``).

Reproducible: targets follow from the data and ``seed``; running it twice stores nothing new (teams are found by
name, goals by title and period, the history is an upsert of the same rows).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
from django.utils import timezone

from goals.metrics import BASELINE_KINDS, LEVEL, PERCENT, goal_values, metric_spec
from goals.models import Goal, Metric, Team, TeamMembership
from goals.periods import MONTH, QUARTER, elapsed_fraction, period_start_of
from goals.services.goals import goal_create
from goals.services.progress import goal_progress_record
from ops_platform.accounts.models import Staff
from users.models import Segment

# team name, kind, lead, members (demo logins)
TEAMS = [
    ("Merchant operations", Team.Kind.MERCHANT_OPS, "merchant_ops", ["admin"]),
    ("User operations", Team.Kind.USER_OPS, "user_ops", ["analyst"]),
    ("Product operations", Team.Kind.PRODUCT_OPS, "product_ops", ["pm"]),
    ("Analysts", Team.Kind.ANALYSTS, "analyst", []),
    ("Product managers", Team.Kind.PMS, "pm", []),
]
# Pace factor: target = value so far / elapsed share × factor. Below 0.95 the goal is ahead, above 1.05 behind.
AHEAD, ON_TRACK, BEHIND = 0.88, 1.0, 1.18

# key, title, level, period, metric, parent key, team, owner, extra fields, pace factor
GOALS = [
    ("q-revenue", "Company revenue this quarter", "company", QUARTER, Metric.REVENUE, None, None, None, {}, ON_TRACK),
    ("m-revenue", "Company revenue this month", "company", MONTH, Metric.REVENUE, None, None, None, {}, AHEAD),
    ("m-live", "Merchants gone live", "team", MONTH, Metric.MERCHANTS_LIVE, "m-revenue", "Merchant operations", None,
     {}, BEHIND),
    ("m-core", "Core merchants", "team", MONTH, Metric.MERCHANTS_CORE, "m-revenue", "Merchant operations", None, {},
     ON_TRACK),
    ("m-acquisition", "New customers", "team", MONTH, Metric.ACQUISITION, "m-revenue", "User operations", None, {},
     AHEAD),
    ("m-paying", "Paying customers", "team", MONTH, Metric.PAYING_CUSTOMERS, "m-revenue", "User operations", None,
     {}, ON_TRACK),
    ("m-repeat", "Repeat buyers segment", "team", MONTH, Metric.SEGMENT_SIZE, "m-revenue", "User operations", None,
     {"segment": "Recent repeat buyers"}, BEHIND),
    ("q-tickets", "Requirements concluded with success", "team", QUARTER, Metric.TICKETS_SUCCESS, "q-revenue",
     "Product operations", None, {}, ON_TRACK),
    ("m-activation", "Sign-ups", "team", MONTH, Metric.ACTIVATION, "m-revenue", "Analysts", None, {}, ON_TRACK),
    ("m-activation-rate", "Activation rate", "team", MONTH, Metric.ACTIVATION_RATE, "m-revenue", "User operations",
     None, {}, AHEAD),
    ("p-signed", "Merchants I sign", "personal", MONTH, Metric.MERCHANTS_SIGNED, "m-live", "Merchant operations",
     "merchant_ops", {}, AHEAD),
    ("p-wechat", "New customers from WeChat", "personal", MONTH, Metric.ACQUISITION, "m-acquisition",
     "User operations", "user_ops", {"channel": "wechat"}, BEHIND),
    ("p-referral", "Referred sign-ups", "personal", MONTH, Metric.REFERRAL, "m-acquisition", "User operations",
     "analyst", {}, ON_TRACK),
    ("p-tickets", "My requirements concluded with success", "personal", QUARTER, Metric.TICKETS_SUCCESS,
     "q-tickets", "Product operations", "pm", {}, AHEAD),
]
PROVISIONAL_TARGET = Decimal("999999999")


def demo_teams_ensure() -> dict[str, Team]:
    staff = {user.username: user for user in Staff.objects.filter(username__in={
        name for _, _, lead, members in TEAMS for name in [lead, *members]})}
    teams = {}
    for name, kind, lead, members in TEAMS:
        team, _ = Team.objects.get_or_create(name=name, defaults={"kind": kind})
        teams[name] = team
        for username, is_lead in [(lead, True), *((member, False) for member in members)]:
            if username in staff:
                TeamMembership.objects.get_or_create(team=team, user=staff[username], defaults={"is_lead": is_lead})
    return teams


def _target(goal: Goal, value: float, share: float, factor: float) -> Decimal:
    start = float(goal.baseline or 0) if metric_spec(goal.metric).kind in BASELINE_KINDS else 0.0
    gained = value - start
    if gained <= 0:
        gained = max(abs(start) * 0.1, 1.0) * share  # nothing moved yet: a modest target
    full = start + gained / max(share, 0.05) * factor
    if goal.metric == Metric.REVENUE:
        return Decimal(max(round(full, -2), 100))
    if metric_spec(goal.metric).unit == PERCENT:  # a rate: a point or more above the baseline, at most 100 %
        return Decimal(str(min(max(round(full, 1), round(start, 1) + 1), 100.0)))
    return Decimal(max(round(full), round(start) + 1))


def demo_goals_ensure(*, end: date, seed: int = 42) -> int:
    """Teams and goals for the periods holding ``end``; returns the goals created (0 on a rerun)."""
    teams = demo_teams_ensure()
    admin = Staff.objects.filter(username="admin").first()
    if admin is None:
        return 0
    rng = np.random.default_rng(seed)
    staff = {user.username: user for user in Staff.objects.filter(username__in={g[7] for g in GOALS if g[7]})}
    segments = {segment.name: segment for segment in Segment.objects.all()}
    existing = {(goal.title, goal.period_start): goal for goal in Goal.objects.filter(
        period_start__in=[period_start_of(kind=MONTH, day=end), period_start_of(kind=QUARTER, day=end)])}
    goals: dict[str, Goal] = {}
    created: list[tuple[Goal, float]] = []
    for key, title, level, period, metric, parent, team, owner, extra, factor in GOALS:
        start = period_start_of(kind=period, day=end)
        if (title, start) in existing:
            goals[key] = existing[(title, start)]
            continue
        fields = dict(extra)
        if "segment" in fields:
            fields["segment"] = segments.get(fields["segment"])
            if fields["segment"] is None:
                continue
        if owner and owner not in staff:
            continue
        provisional = Decimal("100") if metric_spec(metric).unit == PERCENT else PROVISIONAL_TARGET
        goal = goal_create(user=admin, title=title, level=level, period_kind=period, period_start=start,
                           parent=goals.get(parent), team=teams.get(team), owner=staff.get(owner), metric=metric,
                           target=provisional, **fields)
        goals[key] = goal
        created.append((goal, factor * float(rng.uniform(0.97, 1.03))))
    if created:
        # levels such as a segment's size are measured when rebuilt (today), sums up to the data's last day
        values = goal_values(goals=[goal for goal, _ in created], on=max(end, timezone.localdate()))
        for goal, factor in created:
            share = elapsed_fraction(start=goal.period_start, end=goal.period_end, on=end)
            if metric_spec(goal.metric).kind == LEVEL and not goal.baseline and values[goal.pk] > 0:
                goal.baseline = Decimal(round(values[goal.pk] * 0.92))  # nothing stored before: a plausible start
                Goal.objects.filter(pk=goal.pk).update(baseline=goal.baseline)
            goal.target = _target(goal, values[goal.pk], share, factor)
            Goal.objects.filter(pk=goal.pk).update(target=goal.target)
    # the same days goal_create stored (up to today, within each period), now against the real targets
    goal_progress_record(on=max(end, timezone.localdate()), goals=list(goals.values()), backfill=True)
    return len(created)
