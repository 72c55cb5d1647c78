"""Pages of the goals app: the goals tree, a goal's page, the goal form, teams. Thin: parse, ask, call one service.

Every page needs a login (middleware) and the goals or teams area (``role_required``); which goal a person may set
is decided by ``goals.services.goals.goal_can_edit`` (a refusal is a 403 page and changes nothing).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goals import selectors
from goals.forms import GoalForm, MemberAddForm, MemberChangeForm, TeamForm
from goals.metrics import CATALOGUE
from goals.models import Goal, Team, TeamMembership
from goals.periods import MONTH, clamp_day, period_end_of, period_start_of
from goals.services.goals import (
    goal_can_edit,
    goal_create,
    goal_update,
    team_create,
    team_member_add,
    team_member_remove,
    team_member_set_lead,
)
from goals.services.progress import goal_summaries
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area, Role, can, roles_of


def _on(request) -> date:
    """The day asked for (``?on=``), within the bounds goals are set for; today when absent or impossible."""
    try:
        return clamp_day(parse_date(request.GET.get("on") or "") or timezone.localdate())
    except ValueError:  # well formed but no such day (2026-13-01)
        return timezone.localdate()


@role_required(Area.GOALS)
def goal_tree(request):
    on = _on(request)
    month = period_start_of(kind=MONTH, day=on)
    return render(request, "goals/tree.html", {
        "on": on, "tree": selectors.goal_tree(on=on), "today": timezone.localdate(),
        "previous": month - timedelta(days=1), "next": period_end_of(kind=MONTH, start=month) + timedelta(days=1),
        "can_add": can(request.user, Area.GOALS, Action.CHANGE),
    })


@role_required(Area.GOALS)
def goal_detail(request, goal_id: int):
    goal = selectors.goal_get(goal_id=goal_id)
    if goal is None:
        raise Http404
    today = timezone.localdate()
    summary = goal_summaries(goals=[goal], on=today)[0]
    history = selectors.goal_history(goal=goal)
    breakdown = selectors.goal_breakdown(goal=goal, on=today)
    chart = selectors.goal_chart(goal=goal, summary=summary, history=history, launches=breakdown["launches"],
                                 today=today)
    chart["labels"] = {"value": _("Value"), "expected": _("Expected at an even pace")}
    return render(request, "goals/detail.html", {
        "goal": goal, "summary": summary, "spec": CATALOGUE[goal.metric], "history": history[-14:][::-1],
        "breakdown": breakdown, "chart": chart, "children": goal_summaries(goals=list(
            selectors.goal_queryset().filter(parent=goal)), on=today),
        "can_edit": goal_can_edit(user=request.user, goal=goal),
    })


def _goal_fields(form: GoalForm) -> dict:
    data = dict(form.cleaned_data)
    data["channel"] = data.get("channel") or ""
    return data


@role_required(Area.GOALS, Action.CHANGE)
def goal_new(request):
    form = GoalForm(request.POST or None, initial={
        "level": request.GET.get("level") or Goal.Level.PERSONAL, "period_kind": Goal.PeriodKind.MONTH,
        "period_start": period_start_of(kind=MONTH, day=timezone.localdate()), "team": request.GET.get("team"),
        "parent": request.GET.get("parent"),
        "owner": request.user.pk if (request.GET.get("level") or "personal") == "personal" else None})
    return _goal_form_page(request, form, None, lambda fields: goal_create(user=request.user, **fields))


@role_required(Area.GOALS, Action.CHANGE)
def goal_edit(request, goal_id: int):
    goal = selectors.goal_get(goal_id=goal_id)
    if goal is None:
        raise Http404
    if not goal_can_edit(user=request.user, goal=goal):
        raise PermissionDenied(_("You may not change this goal."))
    initial = {name: getattr(goal, name) for name in GoalForm.base_fields}
    form = GoalForm(request.POST or None, initial=initial)
    return _goal_form_page(request, form, goal, lambda fields: goal_update(user=request.user, goal=goal, **fields))


def _goal_form_page(request, form: GoalForm, goal: Goal | None, save):
    """The goal form: on a valid POST ``save(fields)`` (the service), then the goal's page; the service's refusal is
    a 403, its field errors go back to the form with a 400."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = save(_goal_fields(form))
            except ApplicationError as error:
                if error.status_code == 403:
                    raise PermissionDenied(error.message) from error
                form_add_errors(form, error)
            else:
                messages.success(request, _("Goal saved."))
                return redirect("goals:detail", saved.pk)
    return render(request, "goals/form.html", {"form": form, "goal": goal, "catalogue": CATALOGUE.values()},
                  status=status)


# Teams


@role_required(Area.TEAMS)
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        if not can(request.user, Area.TEAMS, Action.CHANGE):
            raise PermissionDenied(_("Only administrators arrange teams."))
        if form.is_valid():
            try:
                team = team_create(user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Team created."))
                return redirect("goals:team", team.pk)
    return render(request, "goals/teams.html", {
        "teams": selectors.team_list(), "form": form, "can_change": can(request.user, Area.TEAMS, Action.CHANGE)})


@role_required(Area.TEAMS)
def team_detail(request, team_id: int):
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404
    members = list(selectors.team_members(team=team))
    is_lead = any(m.user_id == request.user.pk and m.is_lead for m in members)
    is_member = any(m.user_id == request.user.pk for m in members)
    return render(request, "goals/team.html", {
        "team": team, "members": members, "goals": selectors.team_goals(team=team),
        "can_change": can(request.user, Area.TEAMS, Action.CHANGE), "member_form": MemberAddForm(),
        "can_add_team_goal": is_lead or Role.ADMIN in roles_of(request.user),
        "can_add_personal_goal": is_member or Role.ADMIN in roles_of(request.user),
    })


@role_required(Area.TEAMS, Action.CHANGE)
@require_POST
def team_member_add_view(request, team_id: int):
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect("goals:team", team.pk)
    try:
        team_member_add(user=request.user, team=team, member=form.cleaned_data["user"],
                        is_lead=form.cleaned_data["is_lead"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Member added."))
    return redirect("goals:team", team.pk)


@role_required(Area.TEAMS, Action.CHANGE)
@require_POST
def team_member_change(request, team_id: int, membership_id: int):
    membership = TeamMembership.objects.filter(pk=membership_id, team_id=team_id).select_related("team").first()
    if membership is None:
        raise Http404
    form = MemberChangeForm(request.POST)
    if form.is_valid():
        action = form.cleaned_data["action"]
        if action == "remove":
            team_member_remove(user=request.user, membership=membership)
            messages.success(request, _("Member removed."))
        else:
            team_member_set_lead(user=request.user, membership=membership, is_lead=action == "lead")
            messages.success(request, _("Lead updated."))
    return redirect("goals:team", team_id)
