"""Reads of the insights app: which insights and dashboards a staff member may see, what a saved insight asks its
report, and the report's answer (through ops_platform.core.reports: the report's own parser and selector).

Who may read an insight: its owner, its team's members when shared with the team, everyone when shared with
everyone, administrators always — and in every case only a reader whose role may view the report's area (an
insight over customer records is not shown to a role without them). Both rules are in the queryset.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import QueryDict
from rest_framework.utils.encoders import JSONEncoder

from goals import selectors as goal_selectors
from insights.models import Annotation, Dashboard, DashboardTile, Insight, Subscription, Visibility
from insights.presenters import number_of
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import last_complete_period, local_today, period_add, period_end, relative_range
from ops_platform.core.reports import ReportKind, report_kind, report_kinds
from ops_platform.core.roles import Role, can, roles_of

KIND_ORDER = ("funnel", "retention", "aarrr", "golden_time", "channel_quality", "lifecycle", "segment_size",
              "customers", "referrers")


def _is_admin(user) -> bool:
    return Role.ADMIN in roles_of(user)


def kinds_for(*, user) -> list[ReportKind]:
    """The report kinds ``user`` may read (their role views the report's area), in a stable order."""
    order = {key: index for index, key in enumerate(KIND_ORDER)}
    return sorted((kind for kind in report_kinds() if can(user, kind.area)),
                  key=lambda kind: (order.get(kind.key, len(order)), kind.key))


def kind_readable(*, user, kind: str) -> bool:
    found = report_kind(kind)
    return found is not None and can(user, found.area)


def insight_visible_to(*, user) -> QuerySet[Insight]:
    """The insights ``user`` may read: by visibility and by the areas of their reports (one query, no join added)."""
    insights = Insight.objects.select_related("owner", "team").filter(
        kind__in=[kind.key for kind in kinds_for(user=user)])
    if _is_admin(user):
        return insights
    return insights.filter(Q(owner=user) | Q(visibility=Visibility.EVERYONE)
                           | Q(visibility=Visibility.TEAM, team__in=goal_selectors.teams_of(user=user).values("pk")))


def insight_list(*, user, q: str | None = None, kind: str | None = None, owner_id: int | None = None
                 ) -> QuerySet[Insight]:
    insights = insight_visible_to(user=user)
    if q:
        insights = insights.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if kind:
        insights = insights.filter(kind=kind)
    if owner_id:
        insights = insights.filter(owner_id=owner_id)
    return insights.order_by("-updated_at", "-id")


def insight_get(*, user, insight_id: int) -> Insight | None:
    return insight_visible_to(user=user).filter(pk=insight_id).first()


def insight_sharing_default(*, user) -> tuple[str, int | None]:
    """Who a new insight is shown to unless its author chooses (visibility, team id): their team when they are in
    exactly one, else only them. Picking one of several teams would guess an audience (the first by name may be the
    wrong one, and shares at once), and with no team there is nobody to share with; "only me" saves on the first
    submit and is widened later by choosing a team or everyone."""
    mine = list(goal_selectors.teams_of(user=user).order_by("name", "pk")[:2])
    return (Visibility.TEAM, mine[0].pk) if len(mine) == 1 else (Visibility.PRIVATE, None)


def insight_can_change(*, user, insight: Insight) -> bool:
    """Its owner and administrators edit and delete an insight (others duplicate it)."""
    return _is_admin(user) or (insight.owner_id is not None and insight.owner_id == user.pk)


# What an insight asks its report


def query_dict(query: dict[str, list[str]]) -> QueryDict:
    """``{name: [values]}`` as the QueryDict a report's parser reads from a request."""
    data = QueryDict(mutable=True)
    for name, values in query.items():
        data.setlist(name, [str(value) for value in values])
    return data


def resolved_query(*, kind: ReportKind, params: dict, date_range: str = "", date_from: date | None = None,
                   date_to: date | None = None, segment_id: int | None = None, today: date | None = None
                   ) -> dict[str, list[str]]:
    """The query an insight's report is asked today: its parameters, the dates of its relative range resolved in
    TIME_ZONE, and a dashboard's overrides (a range, relative or fixed; a segment, for reports that take one)."""
    query = {name: [str(value) for value in values] for name, values in sorted(params.items())
             if name in kind.parameters}
    if kind.dated:
        if date_range:
            date_from, date_to = relative_range(date_range, today=today)
        if date_from and date_to:
            query["date_from"], query["date_to"] = [date_from.isoformat()], [date_to.isoformat()]
    if segment_id and kind.segment_filter:
        query["segment"] = [str(segment_id)]
    return dict(sorted(query.items()))


def insight_query(*, insight: Insight, dashboard: Dashboard | None = None, today: date | None = None
                  ) -> dict[str, list[str]]:
    kind = report_kind(insight.kind)
    if kind is None:
        raise ApplicationError(f"Unknown report {insight.kind!r}.", code="unknown_report")
    override_range = dashboard.date_range if dashboard else ""
    override_from = dashboard.date_from if dashboard and not override_range else None
    override_to = dashboard.date_to if dashboard and not override_range else None
    if override_range or (override_from and override_to):
        return resolved_query(kind=kind, params=insight.params, date_range=override_range, date_from=override_from,
                              date_to=override_to, segment_id=dashboard.segment_id if dashboard else None, today=today)
    return resolved_query(kind=kind, params=insight.params, date_range=insight.date_range,
                          segment_id=dashboard.segment_id if dashboard else None, today=today)


def query_dates(query: dict[str, list[str]]) -> tuple[date | None, date | None]:
    try:
        return date.fromisoformat(query["date_from"][0]), date.fromisoformat(query["date_to"][0])
    except (KeyError, IndexError, ValueError):
        return None, None


def result_key(*, kind: str, query: dict[str, list[str]]) -> str:
    """The cache key of a report's answer: its kind and exact query (sorted), hashed."""
    canonical = json.dumps({"kind": kind, "query": query}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def report_run(*, kind: str, query: dict[str, list[str]]) -> dict:
    """The report's answer to ``query``, as its API renders it (JSON types): its own parser, then its selector.
    Bad parameters raise ApplicationError with the report's field errors."""
    found = report_kind(kind)
    if found is None:
        raise ApplicationError(f"Unknown report {kind!r}.", code="unknown_report")
    result = found.compute(**found.parse(query_dict(query)))
    return json.loads(json.dumps(result, cls=JSONEncoder))


# Dashboards


def dashboard_visible_to(*, user) -> QuerySet[Dashboard]:
    """A team's dashboards for its members, a personal one for its owner; every dashboard for administrators."""
    dashboards = Dashboard.objects.select_related("team", "owner", "segment")
    if _is_admin(user):
        return dashboards
    return dashboards.filter(Q(owner=user, team__isnull=True)
                             | Q(team__in=goal_selectors.teams_of(user=user).values("pk")))


def dashboard_list(*, user) -> QuerySet[Dashboard]:
    return dashboard_visible_to(user=user).order_by("team__name", "name", "id")


def dashboard_get(*, user, dashboard_id: int) -> Dashboard | None:
    return dashboard_visible_to(user=user).filter(pk=dashboard_id).first()


def dashboard_can_change(*, user, dashboard: Dashboard) -> bool:
    """A team dashboard is changed by the team's members, a personal one by its owner; administrators change any."""
    if _is_admin(user):
        return True
    if dashboard.team_id is None:
        return dashboard.owner_id == user.pk
    return goal_selectors.teams_of(user=user).filter(pk=dashboard.team_id).exists()


def dashboard_can_pin(*, user, dashboard: Dashboard) -> bool:
    """Pinning a team's dashboard on its members' home page is for the team's leads and administrators."""
    if dashboard.team_id is None:
        return False
    return _is_admin(user) or goal_selectors.teams_led_by(user=user).filter(pk=dashboard.team_id).exists()


def dashboard_tiles(*, dashboard: Dashboard) -> list[DashboardTile]:
    """The tiles in order, with their insights and owners (one query)."""
    return list(dashboard.tiles.select_related("insight", "insight__owner", "insight__team").order_by("position", "id"))


def dashboards_pinned_for(*, user) -> list[Dashboard]:
    """The pinned dashboards of the user's teams (what replaces the home page's platform block for them)."""
    return list(Dashboard.objects.filter(pinned=True, team__in=goal_selectors.teams_of(user=user).values("pk"))
                .select_related("team", "segment").prefetch_related(
                    Prefetch("tiles", queryset=DashboardTile.objects.select_related(
                        "insight", "insight__owner", "insight__team").order_by("position", "id")))
                .order_by("team__name"))


def dashboards_with_insight(*, insight: Insight) -> QuerySet[Dashboard]:
    return Dashboard.objects.filter(tiles__insight=insight).distinct().order_by("name")


# Annotations


def annotation_list(*, date_from: date | None = None, date_to: date | None = None) -> QuerySet[Annotation]:
    annotations = Annotation.objects.select_related("created_by")
    if date_from:
        annotations = annotations.filter(date__gte=date_from)
    if date_to:
        annotations = annotations.filter(date__lte=date_to)
    return annotations.order_by("-date", "-id")


def annotation_get(*, annotation_id: int) -> Annotation | None:
    return Annotation.objects.select_related("created_by").filter(pk=annotation_id).first()


def annotation_markers(*, date_from: date, date_to: date) -> list[dict]:
    """The annotations as chart markers (ops_platform/core/chart_markers.py): every time chart draws them."""
    return [{"date": note.date, "label": note.text, "url": ""}
            for note in Annotation.objects.filter(date__gte=date_from, date__lte=date_to).order_by("date", "id")]


# Subscriptions


def staff_active() -> QuerySet:
    """Active staff, by username (who a subscription can go to)."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


def subscription_visible_to(*, user) -> QuerySet[Subscription]:
    """The subscriptions a staff member created or receives (their own, or their team's); all for admins."""
    subscriptions = Subscription.objects.select_related("insight", "dashboard", "team", "created_by")
    if _is_admin(user):
        return subscriptions
    return subscriptions.filter(Q(created_by=user) | Q(recipients=user)
                                | Q(team__in=goal_selectors.teams_of(user=user).values("pk"))).distinct()


def subscription_list(*, user, insight_id: int | None = None, dashboard_id: int | None = None
                      ) -> QuerySet[Subscription]:
    subscriptions = subscription_visible_to(user=user).prefetch_related("recipients")
    if insight_id:
        subscriptions = subscriptions.filter(insight_id=insight_id)
    if dashboard_id:
        subscriptions = subscriptions.filter(dashboard_id=dashboard_id)
    return subscriptions.order_by("next_run_at", "id")


def subscription_get(*, user, subscription_id: int) -> Subscription | None:
    return subscription_visible_to(user=user).filter(pk=subscription_id).first()


def subscription_can_change(*, user, subscription: Subscription) -> bool:
    return _is_admin(user) or subscription.created_by_id == user.pk


# Values for alert rules (the desk checks them after the nightly run)

AARRR_STAGES = ("acquisition", "activation", "retention", "revenue", "referral")


def alert_metrics(*, kind: str) -> list[str]:
    """The figures of a report an alert can watch: an AARRR stage, a funnel's conversion, a segment's size, or a
    report's headline number."""
    if kind == "aarrr":
        return list(AARRR_STAGES)
    return {"funnel": ["conversion"], "segment_size": ["size"]}.get(kind, ["value"])


def _metric_value(kind: str, result: dict, metric: str) -> float | None:
    if kind == "aarrr":
        stage = next((s for s in result.get("stages", []) if s["key"] == metric), None)
        return None if stage is None else float(stage["value"])
    return number_of(kind=kind, result=result)


def _maturity_days(kind: str, query: dict) -> int:
    """Days after a period's end before its figure is final: a funnel's entrants convert within its window."""
    if kind == "funnel":
        try:
            return int(query.get("window_days", ["0"])[0])
        except ValueError:
            return 0
    return 0


def insight_period_values(*, insight: Insight, metric: str, period: str, today: date | None = None) -> dict | None:
    """The insight's ``metric`` over the last complete period (day, week or month) whose figure is final by
    ``today`` — for a funnel, whose entrants' conversion window has also passed — and over the period before it:
    ``{"period_start", "period_end", "value", "previous_start", "previous"}``; None when the report refuses its
    parameters. Computed through the report (its own parser and selector), with the period as its range."""
    kind = report_kind(insight.kind)
    if kind is None or not kind.dated:
        return None
    base = resolved_query(kind=kind, params=insight.params)
    lag = _maturity_days(insight.kind, base)
    start = last_complete_period(period, today=today)
    while period_end(start, period) + timedelta(days=lag) >= (today or local_today()):
        start = period_add(start, period, -1)
    previous = period_add(start, period, -1)
    values = []
    for first in (start, previous):
        query = resolved_query(kind=kind, params=insight.params, date_from=first, date_to=period_end(first, period))
        try:
            values.append(_metric_value(insight.kind, report_run(kind=insight.kind, query=query), metric))
        except ApplicationError:
            return None
    return {"period_start": start, "period_end": period_end(start, period), "value": values[0],
            "previous_start": previous, "previous": values[1]}
