"""The desk's report a saved insight can hold (ops_platform/core/reports.py): the alerts of a range that reach a
team (what the weekly digest listed). An answer is shared by every reader, so each alert carries its title and
message in every language of the site; the reader's is shown."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from desk.rendering import alert_message, alert_title
from desk.selectors import team_alerts_in_range
from goals.reports import TeamRangeSerializer
from ops_platform.core.reports import ReportKind, report_kind_register, serializer_parameters, serializer_parser
from ops_platform.core.roles import Area


def team_alerts_report(*, team, date_from, date_to) -> dict:
    alerts = team_alerts_in_range(team=team, date_from=date_from, date_to=date_to)
    for alert in alerts:
        alert["titles"], alert["messages"] = {}, {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                alert["titles"][code] = alert_title(alert["kind"], alert["params"])
                alert["messages"][code] = alert_message(alert["kind"], alert["params"])
    return {"team": {"id": team.pk, "name": team.name}, "alerts": alerts}


def reports_register() -> None:
    report_kind_register(ReportKind(
        key="team_alerts", label=_("Alerts of the team"), area=Area.DESK, parse=serializer_parser(TeamRangeSerializer),
        compute=team_alerts_report, parameters=serializer_parameters(TeamRangeSerializer),
        description=_("The alerts of the range that reached the team's members.")))
