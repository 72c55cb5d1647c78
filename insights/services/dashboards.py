"""Writing dashboards: create and edit them, add, remove and reorder their tiles, pin a team's on its home page,
and refresh their tiles' answers (the background task and the nightly refresh call ``dashboard_refresh``)."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from goals import selectors as goal_selectors
from insights.models import Dashboard, DashboardTile, Insight, Visibility
from insights.selectors import dashboard_can_change, dashboard_can_pin, dashboard_tiles, insight_visible_to
from insights.services.insights import UNSET, _check_range, segment_refused
from insights.services.results import Evaluated, insight_evaluate
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import RELATIVE_RANGE_MAX_DAYS, DateRange
from ops_platform.core.roles import Role, roles_of

MAX_TILES = 24


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, status_code=403, code="permission_denied")


def _team_for(*, user, team_id: int | None):
    if team_id is None:
        return None
    teams = goal_selectors.team_list() if Role.ADMIN in roles_of(user) else goal_selectors.teams_of(user=user)
    team = teams.filter(pk=team_id).first()
    if team is None:
        raise ApplicationError(_("You can make a dashboard only for a team you are in."),
                               errors={"team": [_("Choose one of your teams, or none for a personal dashboard.")]})
    return team


DASHBOARD_RANGE = DateRange(max_days=RELATIVE_RANGE_MAX_DAYS)  # a dashboard's own dates: both or neither, ≤ 400 days


def _filters(*, date_range: str, date_from: date | None, date_to: date | None) -> None:
    _check_range(date_range)
    if date_range and (date_from or date_to):
        raise ApplicationError(_("Choose a relative range or dates, not both."), errors={"date_range": [
            _("Leave the dates empty with a relative range.")]})
    if bool(date_from) != bool(date_to):
        raise ApplicationError(_("Give both dates, or neither."), errors={"date_to": [_("Give both dates.")]})
    if date_from and date_to:
        DASHBOARD_RANGE.resolve_or_refuse(date_from, date_to)


def dashboard_create(*, user, name: str, description: str = "", team_id: int | None = None) -> Dashboard:
    dashboard = Dashboard(name=name.strip(), description=description.strip(), owner=user,
                          team=_team_for(user=user, team_id=team_id))
    dashboard.full_clean()
    dashboard.save()
    return dashboard


def dashboard_update(*, user, dashboard: Dashboard, name=UNSET, description=UNSET, date_range=UNSET,
                     date_from=UNSET, date_to=UNSET, segment_id=UNSET) -> Dashboard:
    """Name, description and the dashboard-wide filters (a relative range or fixed dates, a segment)."""
    if not dashboard_can_change(user=user, dashboard=dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) change it."))
    if name is not UNSET:
        dashboard.name = str(name).strip()
    if description is not UNSET:
        dashboard.description = str(description).strip()
    if date_range is not UNSET or date_from is not UNSET or date_to is not UNSET:
        dashboard.date_range = (dashboard.date_range if date_range is UNSET else date_range) or ""
        dashboard.date_from = dashboard.date_from if date_from is UNSET else date_from
        dashboard.date_to = dashboard.date_to if date_to is UNSET else date_to
        if date_range is not UNSET and date_range:
            dashboard.date_from = dashboard.date_to = None
        _filters(date_range=dashboard.date_range, date_from=dashboard.date_from, date_to=dashboard.date_to)
    if segment_id is not UNSET:
        if segment_id and segment_id != dashboard.segment_id:
            segment_refused(user=user, names=["segment"])
        dashboard.segment_id = segment_id or None
    dashboard.full_clean()
    dashboard.save()
    return dashboard


def dashboard_delete(*, user, dashboard: Dashboard) -> None:
    if not dashboard_can_change(user=user, dashboard=dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) delete it."))
    dashboard.delete()


def _visible_on(dashboard: Dashboard, insight: Insight) -> bool:
    """Whether everyone who reads the dashboard may read the insight (its visibility covers the audience)."""
    if insight.visibility == Visibility.EVERYONE:
        return True
    if dashboard.team_id is None:
        return insight.owner_id == dashboard.owner_id or insight.visibility == Visibility.TEAM
    return insight.visibility == Visibility.TEAM and insight.team_id == dashboard.team_id


def tile_add(*, user, dashboard: Dashboard, insight_id: int, display: str = DashboardTile.Display.CHART,
             wide: bool = False) -> DashboardTile:
    if not dashboard_can_change(user=user, dashboard=dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) change it."))
    insight = insight_visible_to(user=user).filter(pk=insight_id).first()
    if insight is None:
        raise ApplicationError(_("No such insight."), errors={"insight": [_("Choose one of the insights you read.")]})
    if not _visible_on(dashboard, insight):
        raise ApplicationError(_("“%(name)s” is not shared with everyone who reads this dashboard: share it with the "
                                 "team (or everyone) first.") % {"name": insight.name},
                               errors={"insight": [_("Share it with the team or with everyone first.")]})
    if display not in DashboardTile.Display.values:
        raise ApplicationError(_("Choose a chart or a number."), errors={"display": [_("chart or number")]})
    with transaction.atomic():
        Dashboard.objects.select_for_update().filter(pk=dashboard.pk).first()
        if dashboard.tiles.count() >= MAX_TILES:
            raise ApplicationError(_("A dashboard holds at most %(count)s tiles.") % {"count": MAX_TILES},
                                   errors={"insight": [_("Remove a tile first.")]})
        last = dashboard.tiles.aggregate(last=Max("position"))["last"]
        tile = DashboardTile.objects.create(dashboard=dashboard, insight=insight, display=display, wide=bool(wide),
                                            position=0 if last is None else last + 1)
    return tile


def tile_update(*, user, tile: DashboardTile, display=UNSET, wide=UNSET) -> DashboardTile:
    if not dashboard_can_change(user=user, dashboard=tile.dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) change it."))
    if display is not UNSET:
        if display not in DashboardTile.Display.values:
            raise ApplicationError(_("Choose a chart or a number."), errors={"display": [_("chart or number")]})
        tile.display = display
    if wide is not UNSET:
        tile.wide = bool(wide)
    tile.save(update_fields=["display", "wide"])
    return tile


def tile_remove(*, user, tile: DashboardTile) -> None:
    if not dashboard_can_change(user=user, dashboard=tile.dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) change it."))
    tile.delete()


def tiles_reorder(*, user, dashboard: Dashboard, tile_ids: list[int]) -> list[DashboardTile]:
    """Put the tiles in this order (every tile of the dashboard, each once), in one transaction."""
    if not dashboard_can_change(user=user, dashboard=dashboard):
        raise _refuse(_("Only the team's members (or the owner of a personal dashboard) change it."))
    with transaction.atomic():
        tiles = {tile.pk: tile for tile in dashboard.tiles.select_for_update()}
        if sorted(tile_ids) != sorted(tiles) or len(set(tile_ids)) != len(tile_ids):
            raise ApplicationError(_("Give every tile of the dashboard once, in the new order."),
                                   errors={"tiles": [_("The list does not match the dashboard's tiles; reload the "
                                                       "page and try again.")]})
        for position, pk in enumerate(tile_ids):
            tiles[pk].position = position
        DashboardTile.objects.bulk_update(tiles.values(), ["position"])
    return dashboard_tiles(dashboard=dashboard)


def tile_move(*, user, tile: DashboardTile, offset: int) -> list[DashboardTile]:
    """Move a tile up (-1) or down (+1) by one place (the keyboard's way to reorder)."""
    order = [t.pk for t in dashboard_tiles(dashboard=tile.dashboard)]
    index = order.index(tile.pk)
    target = min(max(index + offset, 0), len(order) - 1)
    order.insert(target, order.pop(index))
    return tiles_reorder(user=user, dashboard=tile.dashboard, tile_ids=order)


def dashboard_pin(*, user, dashboard: Dashboard, pinned: bool) -> Dashboard:
    """Pin a team's dashboard under the desk on its members' home page (one per team: the previous one is
    unpinned), or unpin it (the home page shows the platform block again)."""
    if not dashboard_can_pin(user=user, dashboard=dashboard):
        raise _refuse(_("Only the team's leads and administrators pin a team dashboard; personal dashboards are not "
                        "pinned."))
    try:
        with transaction.atomic():
            if pinned:
                Dashboard.objects.filter(team_id=dashboard.team_id, pinned=True).exclude(pk=dashboard.pk).update(
                    pinned=False)
            dashboard.pinned = pinned
            dashboard.save(update_fields=["pinned", "updated_at"])
    except IntegrityError as error:  # another lead pinned another one at the same moment
        raise ApplicationError(_("Another dashboard was pinned at the same time; try again."),
                               code="conflict", status_code=409) from error
    return dashboard


def dashboard_refresh(*, dashboard: Dashboard) -> list[Evaluated]:
    """Recompute every tile's answer now (the background refresh and the nightly one)."""
    return [insight_evaluate(insight=tile.insight, dashboard=dashboard, refresh=True)
            for tile in dashboard_tiles(dashboard=dashboard)]
