"""Writing saved insights: create, edit, duplicate, delete. The parameters are checked by the report's own parser
(the API's rules and messages), so an insight that is saved can be evaluated."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from goals import selectors as goal_selectors
from insights.models import Insight, Visibility
from insights.selectors import insight_can_change, kind_readable, query_dict, resolved_query
from ops_platform.core.cohorts import segment_filter_allowed
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import RELATIVE_RANGE, RELATIVE_RANGE_MAX_DAYS, relative_range_days
from ops_platform.core.reports import DATE_PARAMETERS, ReportKind, report_kind
from ops_platform.core.roles import Role, roles_of

MAX_VALUES = 20  # values of one parameter (a funnel has at most 10 steps)
MAX_VALUE_LENGTH = 1000


def _as_lists(params) -> dict[str, list[str]]:
    """Parameters as ``{name: [values]}`` of strings, whether given as a QueryDict, lists or single values."""
    if hasattr(params, "lists"):
        items = list(params.lists())
    elif isinstance(params, dict):
        items = [(name, value if isinstance(value, list) else [value]) for name, value in params.items()]
    else:
        raise ApplicationError(_("Give the report's parameters as an object of names and values."), errors={
            "params": [_("Expected an object of names and lists of values, e.g. steps: [visit, signup].")]})
    lists = {}
    for name, values in items:
        values = ["" if value is None else str(value) for value in values]
        if len(values) > MAX_VALUES or any(len(value) > MAX_VALUE_LENGTH or "\x00" in value for value in values):
            raise ApplicationError(_("The report's parameters are not valid; see the fields."),
                                   errors={str(name): [_("Too many or too long values.")]})
        lists[str(name)] = values
    return lists


def _check_range(date_range: str) -> None:
    if not date_range:
        return
    if not RELATIVE_RANGE.match(date_range):
        raise ApplicationError(_("The date range is not one we know."), errors={"date_range": [
            _("Use last_N_days, last_N_weeks, last_N_months, this_week or this_month, or leave it empty for the "
              "dates in the parameters.")]})
    if relative_range_days(date_range) > RELATIVE_RANGE_MAX_DAYS:
        raise ApplicationError(_("The date range is too long."), errors={"date_range": [
            _("Choose a range of at most 400 days.")]})


SEGMENT_PARAMETERS = ("segment", "exclude_segment")


def insight_parameters_check(*, user, kind: ReportKind, params, date_range: str = "", stored: dict | None = None
                             ) -> dict[str, list[str]]:
    """The parameters to store: the report's own (others dropped), dates left out when the range is relative;
    refused with the report's field errors when the report would refuse them today, and with a 403 when ``user``
    may not restrict a report to a segment (it can single out customers: ``ops_platform.core.cohorts``). Only a
    restriction added or changed is refused: one kept as ``stored`` (an edit of other fields) stays."""
    _check_range(date_range)
    lists = {name: values for name, values in _as_lists(params).items() if name in kind.parameters}
    stored = stored or {}
    segment_refused(user=user, names=[name for name in restricting_segments(kind, lists)
                                      if lists[name] != stored.get(name)])
    if date_range or not kind.dated:
        for name in DATE_PARAMETERS:
            lists.pop(name, None)
        date_range = date_range if kind.dated else ""
    kind.parse(query_dict(resolved_query(kind=kind, params=lists, date_range=date_range)))
    return lists


def restricting_segments(kind: ReportKind | None, params: dict) -> list[str]:
    """The segment parameters set in ``params`` (an insight's, or a query: ``{name: [values]}``) that restrict a
    report of ``kind`` to customers (a segment size's ``segment`` is what it counts: a summary, not a restriction)."""
    if kind is None or not kind.segment_filter:
        return []
    return [name for name in SEGMENT_PARAMETERS if any(params.get(name) or ())]


def insights_restricted(ids) -> set[int]:
    """Which of the insights ``ids`` restrict their report to a segment (one query): an answer or a figure of theirs
    goes only to readers of customer records."""
    return {pk for pk, kind, params in Insight.objects.filter(pk__in=set(ids)).values_list("pk", "kind", "params")
            if restricting_segments(report_kind(kind), params or {})}


def segment_refused(*, user, names, message: str | None = None) -> None:
    """Refuse (403, on the named fields) a segment restriction by someone who may not read customer records."""
    if names and not segment_filter_allowed(user):
        message = message or _("Your role does not allow restricting a report to a segment: it can single out "
                               "customers.")
        raise ApplicationError(message, status_code=403, code="permission_denied",
                               errors={name: [message] for name in names})


def insight_answer_check(*, user, insight: Insight, dashboard=None) -> None:
    """The one rule for every way an insight's answer reaches a reader — the result API (stored or refreshed), a
    dashboard's tiles, the insight's page, a subscription's e-mail, an alert: an answer restricted to a segment (the
    insight's own, or the ``dashboard``'s that overrides it) goes only to a reader who may restrict a report to a
    segment, as the report's own API decides. Others are refused (403, on the segment fields): a stored or shared
    answer would hand them what the report refuses them. They still see that the insight exists."""
    kind = report_kind(insight.kind)
    params = dict(insight.params)
    if dashboard is not None and dashboard.segment_id and kind is not None and kind.segment_filter:
        params["segment"] = [str(dashboard.segment_id)]
    segment_refused(user=user, names=restricting_segments(kind, params), message=_(
        "Restricted to a segment: your role does not read customer records, so its figures are not shown to you."))


def _kind_for(*, user, kind: str) -> ReportKind:
    found = report_kind(kind)
    if found is None:
        raise ApplicationError(_("Unknown report."), errors={"kind": [_("Choose one of the reports listed.")]})
    if not kind_readable(user=user, kind=kind):
        raise ApplicationError(_("Your role does not read this report."), status_code=403, code="permission_denied")
    return found


def _sharing(*, user, visibility: str, team_id: int | None):
    if visibility not in Visibility.values:
        raise ApplicationError(_("Choose who sees it."), errors={"visibility": [
            _("One of: only me, my team, everyone.")]})
    if visibility != Visibility.TEAM:
        return None
    teams = goal_selectors.teams_of(user=user) if Role.ADMIN not in roles_of(user) else goal_selectors.team_list()
    if team_id is None:
        mine = list(goal_selectors.teams_of(user=user)[:2])
        if len(mine) == 1:
            return mine[0]
        raise ApplicationError(_("Choose the team to share it with."), errors={"team": [
            _("You are in several teams or none: choose one.") if mine else _("You are in no team: ask an "
                                                                               "administrator to add you to one.")]})
    team = teams.filter(pk=team_id).first()
    if team is None:
        raise ApplicationError(_("You can share only with a team you are in."), errors={"team": [
            _("Choose one of your teams.")]})
    return team


def insight_create(*, user, kind: str, params, name: str, description: str = "", date_range: str = "",
                   visibility: str = Visibility.PRIVATE, team_id: int | None = None) -> Insight:
    found = _kind_for(user=user, kind=kind)
    stored = insight_parameters_check(user=user, kind=found, params=params, date_range=date_range)
    insight = Insight(name=name.strip(), description=description.strip(), kind=kind, params=stored,
                      date_range=date_range if found.dated else "", owner=user, visibility=visibility,
                      team=_sharing(user=user, visibility=visibility, team_id=team_id))
    insight.full_clean()
    insight.save()
    return insight


def _changeable(*, user, insight: Insight) -> None:
    if not insight_can_change(user=user, insight=insight):
        raise ApplicationError(_("Only its owner or an administrator can change this insight; duplicate it to make "
                                 "your own."), status_code=403, code="permission_denied")


UNSET = object()


def insight_update(*, user, insight: Insight, name=UNSET, description=UNSET, params=UNSET, date_range=UNSET,
                   visibility=UNSET, team_id=UNSET) -> Insight:
    _changeable(user=user, insight=insight)
    kind = _kind_for(user=user, kind=insight.kind)
    if name is not UNSET:
        insight.name = str(name).strip()
    if description is not UNSET:
        insight.description = str(description).strip()
    if params is not UNSET or date_range is not UNSET:
        new_range = insight.date_range if date_range is UNSET else (date_range or "")
        new_params = insight.params if params is UNSET else params
        insight.params = insight_parameters_check(user=user, kind=kind, params=new_params, date_range=new_range,
                                                  stored=insight.params)
        insight.date_range = new_range if kind.dated else ""
    if visibility is not UNSET or team_id is not UNSET:
        insight.visibility = insight.visibility if visibility is UNSET else visibility
        insight.team = _sharing(user=user, visibility=insight.visibility,
                                team_id=insight.team_id if team_id is UNSET else team_id)
    insight.full_clean()
    insight.save()
    return insight


def insight_duplicate(*, user, insight: Insight) -> Insight:
    """A private copy owned by ``user`` (anyone who reads an insight may copy it, but not its segment restriction
    when their role may not make one: the copy would be theirs to read)."""
    kind = _kind_for(user=user, kind=insight.kind)
    segment_refused(user=user, names=restricting_segments(kind, insight.params))
    copy = Insight(name=_("Copy of %(name)s") % {"name": insight.name}, description=insight.description,
                   kind=insight.kind, params=insight.params, date_range=insight.date_range, owner=user,
                   visibility=Visibility.PRIVATE)
    copy.name = copy.name[:200]
    copy.full_clean()
    copy.save()
    return copy


def insight_delete(*, user, insight: Insight) -> None:
    """Its owner or an administrator deletes it (its tiles go with it)."""
    _changeable(user=user, insight=insight)
    with transaction.atomic():
        insight.delete()
