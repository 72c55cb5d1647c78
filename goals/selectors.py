"""Reads about teams and goals. The desk, the digest and the pages use these; nothing else reads the tables."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from goals.models import Team, TeamMembership


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("memberships__user")


def teams_of(*, user) -> QuerySet[Team]:
    """The teams the user belongs to (as member or lead)."""
    return Team.objects.filter(memberships__user=user).distinct()


def teams_led_by(*, user) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user, memberships__is_lead=True).distinct()


def team_members(*, team: Team) -> QuerySet[TeamMembership]:
    return team.memberships.select_related("user").order_by("-is_lead", "user__username")


def goals_for_user(*, user, on: date | None = None) -> list[dict]:
    """The goals the user owns (personal) plus their teams' goals and the company goal for the period that holds
    ``on`` (today by default), each with progress and pace:

    ``{"id", "title", "level", "metric", "metric_label", "period_start", "period_end", "target", "value",
    "progress" (value / target, 0…), "expected" (the value expected by now at an even pace), "pace"
    ("ahead" | "on_track" | "behind"), "url"}``.
    """
    return []


def team_goals(*, team: Team, on: date | None = None) -> list[dict]:
    """The team's goals (and its members' personal goals) for the period that holds ``on``, same shape as
    ``goals_for_user``."""
    return []
