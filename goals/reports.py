"""The goals' report a saved insight can hold (ops_platform/core/reports.py): a team's goals over a range, each with
its value, progress and pace (what the weekly digest showed)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from goals import selectors
from ops_platform.core.fields import IdField
from ops_platform.core.reports import (
    ReportKind,
    ReportRangeSerializer,
    report_kind_register,
    serializer_parameters,
    serializer_parser,
)
from ops_platform.core.roles import Area

GOAL_KEYS = ("id", "title", "level", "metric", "metric_label", "period_start", "period_end", "target", "value",
             "progress", "expected", "pace", "url")


class TeamRangeSerializer(ReportRangeSerializer):
    team = IdField(help_text="The team's id.")

    def validate_team(self, value):
        team = selectors.team_list().filter(pk=value).first()
        if team is None:
            raise serializers.ValidationError(_("No such team."))
        return team


def team_goals_report(*, team, date_from, date_to) -> dict:
    """The team's goals whose period overlaps the range, measured at the earlier of their end and ``date_to``."""
    goals = selectors.team_goals_in_range(team=team, date_from=date_from, date_to=date_to)
    return {"team": {"id": team.pk, "name": team.name}, "date_from": date_from, "date_to": date_to,
            "goals": [{key: goal.get(key) for key in GOAL_KEYS} for goal in goals]}


def reports_register() -> None:
    report_kind_register(ReportKind(
        key="team_goals", label=_("Team goals"), area=Area.GOALS, parse=serializer_parser(TeamRangeSerializer),
        compute=team_goals_report, parameters=serializer_parameters(TeamRangeSerializer),
        description=_("A team's goals with their value, progress and pace.")))
