"""Writes of goals and teams, and who may make them (the one place: pages and the API both call these).

Who sets which goal (``goal_can_edit``):

- company goals: administrators;
- a team goal: administrators and the team's leads;
- a personal goal: its owner (a member of the team it counts toward), that team's leads (a lead sets and adjusts
  the personal goals of the people they lead) and administrators.

Teams (members, leads) are arranged by administrators only. Everyone reads everything.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from goals.metrics import CATALOGUE, LEVEL, RATE, goal_series, goal_values, metric_spec
from goals.models import Goal, Metric, Team, TeamMembership
from goals.periods import PERIOD_MAX, PERIOD_MIN, is_period_start, period_end_of, period_start_of
from goals.services.progress import goal_progress_record
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role, roles_of

GOAL_FIELDS = ("title", "level", "period_kind", "period_start", "parent", "team", "owner", "metric", "channel",
               "segment", "coupon_campaign", "target", "baseline")
# What a goal's value and expected value depend on: changing any of them re-measures its history.
MEASURED_FIELDS = ("level", "period_kind", "period_start", "period_end", "owner_id", "metric", "channel",
                   "segment_id", "coupon_campaign_id", "target", "baseline")


def _is_admin(user) -> bool:
    return Role.ADMIN in roles_of(user)


def _leads(user, team_id: int | None) -> bool:
    return bool(team_id) and TeamMembership.objects.filter(team_id=team_id, user=user, is_lead=True).exists()


def goal_can_edit(*, user, goal: Goal) -> bool:
    """May ``user`` set (create or change) this goal, as it stands? See the module's rules."""
    if not getattr(user, "is_authenticated", False) or not roles_of(user):
        return False
    if _is_admin(user):
        return True
    if goal.level == Goal.Level.TEAM:
        return _leads(user, goal.team_id)
    if goal.level == Goal.Level.PERSONAL:
        return (goal.owner_id is not None and goal.owner_id == user.pk) or _leads(user, goal.team_id)
    return False


def _forbidden() -> ApplicationError:
    return ApplicationError(_("You may not set this goal: company goals are for administrators, a team's goals for "
                              "its leads, a personal goal for its owner and their team's leads."),
                            status_code=403, code="permission_denied")


def _prepare(goal: Goal) -> None:
    """Derive what follows from the fields: the period's end, and when no baseline is given a level metric's (its
    value on the period's first day) or a rate's (its value over the whole period before)."""
    if goal.period_start and goal.period_kind and is_period_start(kind=goal.period_kind, day=goal.period_start):
        goal.period_end = period_end_of(kind=goal.period_kind, start=goal.period_start)
    elif goal.period_start and not goal.period_end:
        goal.period_end = goal.period_start
    if goal.level == Goal.Level.COMPANY:
        goal.parent = None
    if (goal.metric in CATALOGUE and goal.period_start and PERIOD_MIN <= goal.period_start <= PERIOD_MAX
            and goal.baseline is None
            and metric_spec(goal.metric).kind == LEVEL
            and not (goal.metric == Metric.SEGMENT_SIZE and not goal.segment_id)):
        values = goal_series(goals=[goal], date_to=goal.period_start).get(goal.pk) or []
        goal.baseline = Decimal(str(round(values[-1][1], 2))) if values else Decimal("0")
    if (goal.metric in CATALOGUE and goal.period_start and PERIOD_MIN < goal.period_start <= PERIOD_MAX
            and goal.baseline is None and metric_spec(goal.metric).kind == RATE):
        before_start = period_start_of(kind=goal.period_kind, day=goal.period_start - timedelta(days=1))
        before = Goal(metric=goal.metric, channel=goal.channel, coupon_campaign_id=goal.coupon_campaign_id,
                      period_kind=goal.period_kind, period_start=before_start,
                      period_end=goal.period_start - timedelta(days=1), level=goal.level, baseline=Decimal("0"))
        value = goal_values(goals=[before], on=before.period_end)[before.pk]
        goal.baseline = Decimal(str(round(value, 2)))


def _clean(goal: Goal) -> None:
    try:
        goal.full_clean(exclude=["created_by"])
    except ValidationError as error:
        raise ApplicationError(_("The goal has invalid fields; see errors."),
                               errors={field: [str(m) for m in msgs] for field, msgs in error.message_dict.items()}
                               ) from error


def goal_create(*, user, **fields) -> Goal:
    """Create a goal if ``user`` may set it; its progress so far is stored at once (the history chart has a line)."""
    goal = Goal(created_by=user, **{key: value for key, value in fields.items() if key in GOAL_FIELDS})
    if not goal_can_edit(user=user, goal=goal):
        raise _forbidden()
    _prepare(goal)
    _clean(goal)
    goal.save()
    _record_history(goal)
    return goal


def goal_update(*, user, goal: Goal, **fields) -> Goal:
    """Change a goal: ``user`` must be allowed to set it both as it was and as it becomes."""
    if not goal_can_edit(user=user, goal=goal):
        raise _forbidden()
    with transaction.atomic():
        goal = Goal.objects.select_for_update().get(pk=goal.pk)
        before = {field: getattr(goal, field) for field in MEASURED_FIELDS}
        for key, value in fields.items():
            if key in GOAL_FIELDS:
                setattr(goal, key, value)
        if not goal_can_edit(user=user, goal=goal):
            raise _forbidden()
        if "metric" in fields and "baseline" not in fields:
            goal.baseline = None
        _prepare(goal)
        _clean(goal)
        remeasure = any(getattr(goal, field) != before[field] for field in MEASURED_FIELDS)
        goal.save()
        if remeasure:  # the history of what it was no longer measures what it is
            goal.progress.all().delete()
    if remeasure:
        _record_history(goal)
    return goal


def goal_delete(*, user, goal: Goal) -> None:
    if not goal_can_edit(user=user, goal=goal):
        raise _forbidden()
    goal.delete()


def _record_history(goal: Goal) -> None:
    today = timezone.localdate()
    if goal.period_start <= today:
        goal_progress_record(on=min(today, goal.period_end), goals=[goal], backfill=True)


# Teams: administrators arrange them


def _admin_only(user) -> None:
    if not _is_admin(user):
        raise ApplicationError(_("Only administrators arrange teams."), status_code=403, code="permission_denied")


def team_create(*, user, name: str, kind: str = Team.Kind.OTHER, description: str = "") -> Team:
    _admin_only(user)
    team = Team(name=name, kind=kind, description=description)
    try:
        team.full_clean()
    except ValidationError as error:
        raise ApplicationError(_("The team has invalid fields; see errors."), errors=error.message_dict) from error
    team.save()
    return team


def team_member_add(*, user, team: Team, member, is_lead: bool = False) -> TeamMembership:
    _admin_only(user)
    try:
        with transaction.atomic():
            return TeamMembership.objects.create(team=team, user=member, is_lead=is_lead)
    except IntegrityError as error:
        raise ApplicationError(_("Already a member of this team."), errors={"user": [_("Already a member.")]}
                               ) from error


def team_member_set_lead(*, user, membership: TeamMembership, is_lead: bool) -> TeamMembership:
    _admin_only(user)
    TeamMembership.objects.filter(pk=membership.pk).update(is_lead=is_lead)
    membership.is_lead = is_lead
    return membership


def team_member_remove(*, user, membership: TeamMembership) -> None:
    """Take someone out of a team. Their personal goals for the team stay (history), counted as before."""
    _admin_only(user)
    membership.delete()
