"""Evaluating saved insights, with their answers cached.

An answer is stored per exact query (report kind and parameters with the dates resolved: ``InsightResult``), with
the time it was computed, and shared by every insight and tile asking the same. It is served while fresh — an hour
when its range reaches today (events keep arriving), a day for complete days (the nightly refresh recomputes the
dashboards after the night's runs) — and recomputed on a refresh. A stale answer can still be shown at once (the
dashboard shows it, says when it was computed and refreshes it in the background).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from insights.models import Dashboard, Insight, InsightResult
from insights.presenters import present
from insights.selectors import (
    dashboard_tiles,
    insight_query,
    insight_visible_to,
    query_dates,
    report_run,
    result_key,
)
from insights.services.insights import insight_answer_check
from ops_platform.core.chart_markers import chart_markers
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import local_today, relative_range_label
from ops_platform.core.reports import report_kind

FRESH_TODAY = timedelta(hours=1)
FRESH_PAST = timedelta(hours=24)
KEEP_DAYS = 14  # answers not asked for again within this are pruned nightly


@dataclass
class Evaluated:
    kind: str
    query: dict
    result: dict | None = None
    error: dict | None = None  # {"message", "errors"}: the report refuses the parameters today
    computed_at: datetime | None = None
    seconds: float = 0.0
    cached: bool = False
    stale: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def date_from(self) -> date | None:
        return query_dates(self.query)[0]

    @property
    def date_to(self) -> date | None:
        return query_dates(self.query)[1]


def _fresh_for(query: dict) -> timedelta:
    date_to = query_dates(query)[1]
    return FRESH_PAST if date_to is not None and date_to < local_today() else FRESH_TODAY


def _from_row(row: InsightResult) -> Evaluated:
    return Evaluated(kind=row.kind, query=row.query, result=row.result, computed_at=row.computed_at,
                     seconds=row.seconds, cached=True,
                     stale=timezone.now() - row.computed_at > _fresh_for(row.query))


def cached_results(*, keys: list[str]) -> dict[str, Evaluated]:
    """The stored answers of these keys (one query), fresh or not."""
    return {row.key: _from_row(row) for row in InsightResult.objects.filter(key__in=keys)}


def report_result(*, kind: str, query: dict, refresh: bool = False, cached: Evaluated | None = None) -> Evaluated:
    """The answer to ``query``: the stored one while fresh (unless ``refresh``), else computed now and stored."""
    key = result_key(kind=kind, query=query)
    if cached is None and not refresh:
        row = InsightResult.objects.filter(key=key).first()
        cached = _from_row(row) if row else None
    if cached is not None and not refresh and not cached.stale:
        return cached
    started = time.perf_counter()
    try:
        result = report_run(kind=kind, query=query)
    except ApplicationError as error:
        return Evaluated(kind=kind, query=query, error={"message": error.message, "errors": error.errors})
    seconds = time.perf_counter() - started
    now = timezone.now()
    InsightResult.objects.bulk_create(
        [InsightResult(key=key, kind=kind, query=query, result=result, computed_at=now, seconds=seconds)],
        update_conflicts=True, unique_fields=["key"], update_fields=["result", "computed_at", "seconds", "query"])
    return Evaluated(kind=kind, query=query, result=result, computed_at=now, seconds=seconds)


def insight_evaluate(*, insight: Insight, dashboard: Dashboard | None = None, refresh: bool = False,
                     today: date | None = None) -> Evaluated:
    """The insight's report for its saved parameters (a dashboard's range and segment applied), dates resolved today."""
    try:
        query = insight_query(insight=insight, dashboard=dashboard, today=today)
    except ApplicationError as error:
        return Evaluated(kind=insight.kind, query={}, error={"message": error.message, "errors": error.errors})
    return report_result(kind=insight.kind, query=query, refresh=refresh)


def insight_result(*, user, insight: Insight, dashboard: Dashboard | None = None, refresh: bool = False
                   ) -> Evaluated:
    """What ``user`` is shown of the insight's answer (a dashboard's overrides applied): refused before anything is
    read or computed when it is restricted to a segment and their role may not see one (``insight_answer_check``)."""
    insight_answer_check(user=user, insight=insight, dashboard=dashboard)
    return insight_evaluate(insight=insight, dashboard=dashboard, refresh=refresh)


def refused_evaluated(*, insight: Insight, error: ApplicationError) -> Evaluated:
    """An answer withheld from its reader: the refusal in place of the figures (a tile, a page, an e-mail)."""
    return Evaluated(kind=insight.kind, query={}, error={"message": error.message, "errors": error.errors},
                     extra={"refused": True})


def evaluated_view(evaluated: Evaluated, *, markers_cache: dict | None = None) -> dict:
    """What a page, a tile or the API shows of an answer: the chart, the number and the table in the active
    language (time charts with their markers), when it was computed, and whether it is stale."""
    kind = report_kind(evaluated.kind)
    shown = None
    if evaluated.result is not None:
        markers = []
        if kind is not None and kind.time_series and evaluated.date_from and evaluated.date_to:
            span = (evaluated.date_from, evaluated.date_to)
            cache = {} if markers_cache is None else markers_cache  # tiles sharing a range share one lookup
            if span not in cache:
                cache[span] = chart_markers(date_from=evaluated.date_from, date_to=evaluated.date_to)
            markers = cache[span]
        shown = present(kind=evaluated.kind, result=evaluated.result, markers=markers, query=evaluated.query)
    return {"kind": evaluated.kind, "query": evaluated.query, "shown": shown, "error": evaluated.error,
            "date_from": evaluated.date_from, "date_to": evaluated.date_to,
            "computed_at": evaluated.computed_at, "cached": evaluated.cached, "stale": evaluated.stale}


def result_payload(evaluated, *, shown: bool = False, markers_cache: dict | None = None) -> dict:
    view = evaluated_view(evaluated, markers_cache=markers_cache) if shown else None
    payload = {"kind": evaluated.kind, "query": evaluated.query, "date_from": evaluated.date_from,
               "date_to": evaluated.date_to, "computed_at": evaluated.computed_at, "cached": evaluated.cached,
               "stale": evaluated.stale, "result": evaluated.result, "error": evaluated.error}
    if view is not None:
        payload["shown"] = view["shown"]
    return payload



def dashboard_tile_states(*, user, dashboard: Dashboard) -> list[dict]:
    """Each tile with its stored answer (or none yet), whether the caller may read it, and in place of the answer
    the refusal when they read the insight but not its segment-restricted figures. Three queries, and the chart
    markers once per date range among the time charts."""
    tiles = dashboard_tiles(dashboard=dashboard)
    markers_cache: dict = {}
    readable = set(insight_visible_to(user=user).filter(pk__in=[t.insight_id for t in tiles])
                   .values_list("pk", flat=True))
    queries, refused = {}, {}
    for tile in tiles:
        if tile.insight_id not in readable:
            continue
        try:
            insight_answer_check(user=user, insight=tile.insight, dashboard=dashboard)
        except ApplicationError as error:
            refused[tile.pk] = refused_evaluated(insight=tile.insight, error=error)
            continue
        try:
            queries[tile.pk] = insight_query(insight=tile.insight, dashboard=dashboard)
        except ApplicationError:  # a report no longer registered: shown as an error on the tile
            queries[tile.pk] = None
    keys = {pk: result_key(kind=tile.insight.kind, query=queries[pk]) for tile in tiles
            if (pk := tile.pk) in queries and queries[pk] is not None}
    stored = cached_results(keys=list(keys.values()))
    states = []
    for tile in tiles:
        state = {"id": tile.pk, "insight_id": tile.insight_id, "name": tile.insight.display_name,
                 "kind": tile.insight.kind, "display": tile.display, "wide": tile.wide,
                 "readable": tile.insight_id in readable, "refused": tile.pk in refused, "result": None}
        if tile.pk in refused:
            state["result"] = result_payload(refused[tile.pk])
        elif tile.pk in keys and keys[tile.pk] in stored:
            state["result"] = result_payload(stored[keys[tile.pk]], shown=True, markers_cache=markers_cache)
        elif tile.pk in queries and queries[tile.pk] is None:
            state["result"] = result_payload(Evaluated(kind=tile.insight.kind, query={}, error={
                "message": _("This report is no longer available."), "errors": {}}))
        states.append(state)
    return states



def dashboard_grid(*, user, dashboard) -> dict:
    """What a dashboard's grid needs (its page and the home page): tiles with their stored answers."""
    tiles = dashboard_tile_states(user=user, dashboard=dashboard)
    if dashboard.date_range:
        range_label = relative_range_label(dashboard.date_range)
    elif dashboard.date_from and dashboard.date_to:
        range_label = f"{dashboard.date_from.isoformat()} – {dashboard.date_to.isoformat()}"
    else:
        range_label = ""
    return {"dashboard": dashboard, "tiles": tiles, "range_label": range_label, "grid_id": f"grid-data-{dashboard.pk}",
            "grid": {"id": dashboard.pk, "tiles": tiles, "now": timezone.now().isoformat(),
                     "result_url": reverse("dashboard-tile-result", args=[dashboard.pk, 0]).replace("/0/", "/{tile}/"),
                     "results_url": reverse("dashboard-results", args=[dashboard.pk]),
                     "order_url": reverse("dashboard-tile-order", args=[dashboard.pk])}}


def results_prune(*, keep_days: int = KEEP_DAYS) -> int:
    """Delete answers computed more than ``keep_days`` ago (a tile asks again tomorrow with other dates)."""
    deleted, _ = InsightResult.objects.filter(computed_at__lt=timezone.now() - timedelta(days=keep_days)).delete()
    return deleted
