"""Reads about teams and goals. The desk, the digest and the pages use these; nothing else reads the tables."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from analytics import selectors as analytics_selectors
from goals.models import CHANNEL_METRICS, Goal, GoalProgress, Metric, Team, TeamMembership
from goals.services.progress import goal_summaries, measured_through
from merchants import selectors as merchant_selectors
from merchants.models import Tier
from products import selectors as product_selectors
from users.selectors import local_range

BREAKDOWN_TOP = 10

LEVEL_ORDER = Case(When(level=Goal.Level.COMPANY, then=Value(0)), When(level=Goal.Level.TEAM, then=Value(1)),
                   default=Value(2), output_field=IntegerField())


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("memberships__user")


def teams_of(*, user) -> QuerySet[Team]:
    """The teams the user belongs to (as member or lead)."""
    return Team.objects.filter(memberships__user=user).distinct()


def teams_led_by(*, user) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user, memberships__is_lead=True).distinct()


def team_members(*, team: Team) -> QuerySet[TeamMembership]:
    return team.memberships.select_related("user").order_by("-is_lead", "user__username")


def _period_goals(on: date) -> QuerySet[Goal]:
    return (Goal.objects.filter(period_start__lte=on, period_end__gte=on)
            .order_by(LEVEL_ORDER, "period_start", "-period_end", "title", "id"))


def goals_for_user(*, user, on: date | None = None) -> list[dict]:
    """The goals the user owns (personal) plus their teams' goals and the company goal for the period that holds
    ``on`` (today by default), each with progress and pace:

    ``{"id", "title", "level", "metric", "metric_label", "period_start", "period_end", "target", "value",
    "progress" (value / target, 0…), "expected" (the value expected by now at an even pace), "pace"
    ("ahead" | "on_track" | "behind" | "pending"), "url"}``; also ``"unit"``, ``"kind"`` (sum | level | rate),
    ``"period_kind"``, ``"baseline"``, ``"start"`` (the baseline, 0 for a sum), ``"measured_on"`` (the day the value
    and the pace are judged at; None and pace "pending" before anything in the period is measured), ``"as_of"``,
    ``"team_id"``, ``"owner_id"``, ``"parent_id"``. For a level or a rate (core merchants, segment size, activation
    and repeat rate, coupon ROI) ``progress`` is the share of the way from the baseline to the target.

    Company goals first, then team goals, then personal; quarters before months. One query for the goals plus one
    grouped query per metric family.
    """
    on = on or timezone.localdate()
    goals = list(_period_goals(on).filter(
        Q(level=Goal.Level.COMPANY)
        | Q(level=Goal.Level.TEAM, team__memberships__user=user)
        | Q(level=Goal.Level.PERSONAL, owner=user)).distinct())
    return goal_summaries(goals=goals, on=on)


def team_goals(*, team: Team, on: date | None = None) -> list[dict]:
    """The team's goals (and its members' personal goals) for the period that holds ``on``, same shape as
    ``goals_for_user``."""
    on = on or timezone.localdate()
    goals = list(_period_goals(on).filter(team=team))
    return goal_summaries(goals=goals, on=on)


def team_goals_in_range(*, team: Team, date_from: date, date_to: date) -> list[dict]:
    """The team's goals whose period overlaps ``date_from``…``date_to`` (a digest's week), same shape as
    ``goals_for_user``; each measured at the earlier of its period's end and ``date_to`` (a month ending mid-week
    is reported as it closed). One query for the goals, then one measurement per distinct day."""
    goals = list(Goal.objects.filter(team=team, period_start__lte=date_to, period_end__gte=date_from)
                 .order_by(LEVEL_ORDER, "period_start", "-period_end", "title", "id"))
    by_day: dict[date, list[Goal]] = {}
    for goal in goals:
        by_day.setdefault(min(goal.period_end, date_to), []).append(goal)
    summaries = {summary["id"]: summary for on, group in sorted(by_day.items())
                 for summary in goal_summaries(goals=group, on=on)}
    return [summaries[goal.pk] for goal in goals]


def team_goals_by_team(*, teams, on: date | None = None) -> dict[int, list[dict]]:
    """``team_goals`` for several teams at once (a lead's desk): team id → goals, measured together."""
    on = on or timezone.localdate()
    goals = list(_period_goals(on).filter(team__in=[team.pk for team in teams]))
    by_team: dict[int, list[dict]] = {team.pk: [] for team in teams}
    for summary in goal_summaries(goals=goals, on=on):
        by_team[summary["team_id"]].append(summary)
    return by_team


# Pages and the API


def goal_queryset() -> QuerySet[Goal]:
    """Goals with what their rows show (team, owner, parent, segment, campaign): one query."""
    return Goal.objects.select_related("team", "owner", "parent", "segment", "coupon_campaign", "created_by")


def goal_list(*, period_start: date | None = None, on: date | None = None, level: str | None = None,
              team_id: int | None = None, owner_id: int | None = None, metric: str | None = None) -> QuerySet[Goal]:
    """Goals filtered by the period they start on or a day their period holds, level, team, owner, metric.
    Company, team, personal; quarters before months. One query."""
    goals = goal_queryset()
    if period_start:
        goals = goals.filter(period_start=period_start)
    if on:
        goals = goals.filter(period_start__lte=on, period_end__gte=on)
    if level:
        goals = goals.filter(level=level)
    if team_id:
        goals = goals.filter(team_id=team_id)
    if owner_id:
        goals = goals.filter(owner_id=owner_id)
    if metric:
        goals = goals.filter(metric=metric)
    return goals.order_by("-period_start", LEVEL_ORDER, "-period_end", "title", "id")


def goal_get(*, goal_id: int) -> Goal | None:
    return goal_queryset().filter(pk=goal_id).first()


def goal_tree(*, on: date) -> list[dict]:
    """The goals whose period holds ``on`` as a tree: company goals, the team goals under them, the personal goals
    under those; goals whose parent is elsewhere are roots. Each node: ``{"goal", "summary", "children"}``.
    One query for the goals plus one grouped query per metric family."""
    goals = list(goal_queryset().filter(period_start__lte=on, period_end__gte=on)
                 .order_by(LEVEL_ORDER, "period_start", "-period_end", "team__name", "owner__username", "title", "id"))
    summaries = {row["id"]: row for row in goal_summaries(goals=goals, on=on)}
    nodes = {goal.pk: {"goal": goal, "summary": summaries[goal.pk], "children": []} for goal in goals}
    roots = []
    for goal in goals:
        parent = nodes.get(goal.parent_id)
        (parent["children"] if parent else roots).append(nodes[goal.pk])
    return roots


def goal_history(*, goal: Goal) -> list[GoalProgress]:
    """The stored daily values of a goal, oldest first. One query."""
    return list(goal.progress.order_by("date"))


def goal_chart(*, goal: Goal, summary: dict, history: list[GoalProgress], launches: list[dict],
               today: date) -> dict:
    """The goal page's chart: every day of the period, the stored value (today's measured on demand when not
    stored yet), the even-pace line from the start value to the target, and the launches as markers."""
    days = [goal.period_start + timedelta(days=n) for n in range((goal.period_end - goal.period_start).days + 1)]
    stored = {row.date: row.value for row in history}
    if goal.period_start <= today <= goal.period_end:
        stored.setdefault(today, summary["value"])
    start = float(summary["start"])
    return {
        "days": [day.isoformat() for day in days],
        "value": [stored.get(day) for day in days],
        "expected": [round(start + (summary["target"] - start) * (n + 1) / len(days), 2) for n in range(len(days))],
        "markers": [{"date": marker["date"].isoformat(), "label": marker["label"]} for marker in launches],
    }


def goal_breakdown(*, goal: Goal, on: date) -> dict:
    """What moved the goal, for its period up to ``on``: the AARRR metric by first-touch channel, revenue by merchant
    (top contributors), the merchants signed / gone live / in the core tier, the tickets concluded; plus the
    launches in the period (chart markers). Through the same last complete day as the goal's value. A few queries,
    each grouped."""
    last = min(goal.period_end, measured_through(on))
    result: dict = {"channels": [], "merchants": [], "merchant_list": [], "tickets": [],
                    "launches": product_selectors.launch_markers(date_from=goal.period_start, date_to=goal.period_end)}
    if last < goal.period_start:
        return result
    if goal.metric in CHANNEL_METRICS and goal.metric in analytics_selectors.AARRR_METRICS:
        rows = analytics_selectors.aarrr_channel_summary(date_from=goal.period_start, date_to=last)
        total = sum(float(row[goal.metric] or 0) for row in rows) or 1.0
        result["channels"] = sorted(
            ({"channel": row["channel"], "value": float(row[goal.metric] or 0),
              "share": float(row[goal.metric] or 0) / total, "selected": row["channel"] == goal.channel}
             for row in rows if row[goal.metric]), key=lambda row: (-row["value"], row["channel"]))
    if goal.metric == Metric.REVENUE:
        start, end = local_range(goal.period_start, last)
        frame = analytics_selectors.merchant_order_aggregates(start=start, end=end)
        top = frame.sort_values(["gmv", "merchant"], ascending=[False, True]).head(BREAKDOWN_TOP)
        names = merchant_selectors.merchant_names(codes=list(top["merchant"]))
        total = float(frame["gmv"].sum()) or 1.0
        result["merchants"] = [{"code": row.merchant, "merchant": names.get(row.merchant), "value": float(row.gmv),
                                "orders": int(row.orders), "share": float(row.gmv) / total}
                               for row in top.itertuples()]
    owner_id = goal.owner_id if goal.level == Goal.Level.PERSONAL else None
    if goal.metric in (Metric.MERCHANTS_SIGNED, Metric.MERCHANTS_LIVE):
        result["merchant_list"] = merchant_selectors.merchants_reached_list(
            milestone="signed" if goal.metric == Metric.MERCHANTS_SIGNED else "live", date_from=goal.period_start,
            date_to=last, owner_id=owner_id, limit=BREAKDOWN_TOP)
    if goal.metric == Metric.MERCHANTS_CORE:
        result["merchant_list"] = list(merchant_selectors.merchant_list(tier=Tier.CORE, owner=owner_id)
                                       [:BREAKDOWN_TOP])
    if goal.metric == Metric.TICKETS_SUCCESS:
        result["tickets"] = product_selectors.tickets_concluded_list(date_from=goal.period_start, date_to=last,
                                                                    limit=BREAKDOWN_TOP)
    return result
