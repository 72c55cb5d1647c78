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
from insights.labels import DIGEST_DESCRIPTION, DIGEST_NAME, DIGEST_SECTION_NAMES
from insights.models import Dashboard, DashboardTile, Insight, Subscription, Visibility
from insights.services.subscriptions import next_run_after

DIGEST_RANGE = "last_1_weeks"
DIGEST_TIME = time(8, 0)
MONDAY = 0


def _sections(team) -> list[tuple[str, dict, str, str]]:
    """(kind, params, display, name) of the digest's tiles, named in the site's language."""
    team_id = [str(team.pk)]
    names = DIGEST_SECTION_NAMES
    return [
        ("team_goals", {"team": team_id}, DashboardTile.Display.CHART, names["Goals"]),
        ("aarrr", {}, DashboardTile.Display.NUMBER, names["AARRR stages"]),
        ("channel_quality", {}, DashboardTile.Display.CHART, names["Channels"]),
        ("lifecycle", {}, DashboardTile.Display.NUMBER, names["Customers by stage"]),
        ("tier_moves", {}, DashboardTile.Display.NUMBER, names["Merchants that moved a tier"]),
        ("launches", {}, DashboardTile.Display.NUMBER, names["Launches and conclusions"]),
        ("team_alerts", {"team": team_id}, DashboardTile.Display.NUMBER, names["Alerts"]),
    ]


def team_digest_ensure(*, team) -> tuple[Dashboard, bool]:
    """The team's digest dashboard and its Monday subscription, made now if the team has none; (dashboard,
    created)."""
    with transaction.atomic():
        existing = Dashboard.objects.select_for_update().filter(team=team, team_digest=True).first()
        if existing is not None:
            return existing, False
        with translation.override(settings.LANGUAGE_CODE):
            # named in the site's language; shown in the reader's while unchanged (insights.labels)
            dashboard = Dashboard.objects.create(name=_(DIGEST_NAME) % {"team": team.name}, team=team,
                                                 team_digest=True, date_range=DIGEST_RANGE,
                                                 description=_(DIGEST_DESCRIPTION))
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
