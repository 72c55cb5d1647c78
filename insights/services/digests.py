"""The weekly team digest, as a default subscription of the team's digest dashboard.

Each team gets (once, unique per team) a dashboard of what the digest showed — the team's goals with their pace, the
AARRR stages, the channels, customers by life-cycle stage, merchants that moved a tier, launches and conclusions,
and the alerts that reached its members — over the last complete week, and a subscription that e-mails it to the
team's members every Monday at 08:00 in TIME_ZONE, each in their own language with the XLSX. The team changes it like
any dashboard (tiles, range, schedule, recipients) instead of it being fixed code. Made for every team by the
subscriptions' beat task (a team created today has its digest within 5 minutes).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from goals import selectors as goal_selectors
from insights.models import Dashboard, DashboardTile, Insight, Subscription, Visibility
from insights.services.subscriptions import next_run_after

DIGEST_RANGE = "last_1_weeks"
DIGEST_TIME = time(8, 0)
MONDAY = 0


def _sections(team) -> list[tuple[str, dict, str, str]]:
    """(kind, params, display, name) of the digest's tiles, named in the site's language."""
    team_id = [str(team.pk)]
    return [
        ("team_goals", {"team": team_id}, DashboardTile.Display.CHART, _("Goals")),
        ("aarrr", {}, DashboardTile.Display.NUMBER, _("AARRR stages")),
        ("channel_quality", {}, DashboardTile.Display.CHART, _("Channels")),
        ("lifecycle", {}, DashboardTile.Display.NUMBER, _("Customers by stage")),
        ("tier_moves", {}, DashboardTile.Display.NUMBER, _("Merchants that moved a tier")),
        ("launches", {}, DashboardTile.Display.NUMBER, _("Launches and conclusions")),
        ("team_alerts", {"team": team_id}, DashboardTile.Display.NUMBER, _("Alerts")),
    ]


def team_digest_ensure(*, team) -> tuple[Dashboard, bool]:
    """The team's digest dashboard and its Monday subscription, made now if the team has none; (dashboard,
    created)."""
    with transaction.atomic():
        existing = Dashboard.objects.select_for_update().filter(team=team, team_digest=True).first()
        if existing is not None:
            return existing, False
        with translation.override(settings.LANGUAGE_CODE):
            dashboard = Dashboard.objects.create(name=_("%(team)s: the week") % {"team": team.name}, team=team,
                                                 team_digest=True, date_range=DIGEST_RANGE,
                                                 description=_("The team's weekly digest, e-mailed every Monday."))
            for position, (kind, params, display, name) in enumerate(_sections(team)):
                insight = Insight.objects.create(name=name, kind=kind, params=params, date_range=DIGEST_RANGE,
                                                 visibility=Visibility.TEAM, team=team)
                DashboardTile.objects.create(dashboard=dashboard, insight=insight, position=position, display=display)
        Subscription.objects.create(
            dashboard=dashboard, frequency=Subscription.Frequency.WEEKLY, weekday=MONDAY, time=DIGEST_TIME,
            date_range=DIGEST_RANGE, team=team,
            next_run_at=next_run_after(frequency=Subscription.Frequency.WEEKLY, weekday=MONDAY, at=DIGEST_TIME,
                                       after=timezone.now()))
    return dashboard, True


def team_digests_ensure() -> int:
    """Every team's digest dashboard and subscription (the teams that have one cost one query); how many were made."""
    having = set(Dashboard.objects.filter(team_digest=True).values_list("team_id", flat=True))
    return sum(team_digest_ensure(team=team)[1] for team in goal_selectors.team_list() if team.pk not in having)
