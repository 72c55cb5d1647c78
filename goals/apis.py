"""The goals API (/api/v1/goals/…, /api/v1/teams/…). Thin: parse, check the area (RolePermission + role_area),
call one service or selector, serialize. Which goal a person may set is the services' ``goal_can_edit`` (403)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from goals import selectors
from goals.models import Goal, Metric, Team, TeamMembership
from goals.services.goals import (
    goal_create,
    goal_delete,
    goal_update,
    team_create,
    team_member_add,
    team_member_remove,
    team_member_set_lead,
)
from goals.services.progress import goal_summaries
from ops_platform.core.fields import IdField
from ops_platform.core.roles import Area
from users.models import CouponCampaign, Segment

# Goals


class GoalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.ChoiceField(choices=Goal.Level.choices)
    period_kind = serializers.ChoiceField(choices=Goal.PeriodKind.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    parent_id = serializers.IntegerField(allow_null=True)
    team_id = serializers.IntegerField(allow_null=True)
    owner_id = serializers.IntegerField(allow_null=True)
    metric = serializers.ChoiceField(choices=Metric.choices)
    metric_label = serializers.CharField()
    unit = serializers.CharField()
    kind = serializers.CharField()
    target = serializers.FloatField()
    baseline = serializers.FloatField(allow_null=True)
    value = serializers.FloatField()
    progress = serializers.FloatField()
    expected = serializers.FloatField()
    pace = serializers.ChoiceField(choices=["ahead", "on_track", "behind", "pending"])
    start = serializers.FloatField(help_text="Where the goal started: its baseline (levels, rates), 0 for a sum.")
    measured_on = serializers.DateField(allow_null=True, help_text="The day value and pace are judged at; null "
                                        "(pace pending) before anything in the period is measured.")
    url = serializers.CharField()


class GoalFilterSerializer(serializers.Serializer):
    period_start = serializers.DateField(required=False)
    on = serializers.DateField(required=False, help_text="Goals whose period holds this day.")
    level = serializers.ChoiceField(choices=Goal.Level.choices, required=False)
    team = IdField(required=False)
    owner = IdField(required=False)
    metric = serializers.ChoiceField(choices=Metric.choices, required=False)


class GoalInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    level = serializers.ChoiceField(choices=Goal.Level.choices)
    period_kind = serializers.ChoiceField(choices=Goal.PeriodKind.choices, default=Goal.PeriodKind.MONTH)
    period_start = serializers.DateField()
    parent = serializers.PrimaryKeyRelatedField(queryset=Goal.objects.all(), required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                               required=False, allow_null=True)
    metric = serializers.ChoiceField(choices=Metric.choices)
    channel = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False, allow_null=True)
    coupon_campaign = serializers.PrimaryKeyRelatedField(queryset=CouponCampaign.objects.all(), required=False,
                                                         allow_null=True)
    target = serializers.DecimalField(max_digits=16, decimal_places=2)
    baseline = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)


def _summary(goal: Goal) -> dict:
    return goal_summaries(goals=[goal], on=timezone.localdate())[0]


class GoalListCreateApi(ListAPIView):
    """Goals with their value, expected value and pace today; filter by period, level, team, owner, metric;
    paginated. POST sets a goal (company: admins; team: its leads; personal: its owner or the team's leads)."""

    role_area = Area.GOALS
    serializer_class = GoalOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[GoalFilterSerializer])
    def get(self, request, *args, **kwargs):
        params = GoalFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        goals = selectors.goal_list(period_start=data.get("period_start"), on=data.get("on"),
                                    level=data.get("level"), team_id=data.get("team"), owner_id=data.get("owner"),
                                    metric=data.get("metric"))
        page = self.paginate_queryset(goals)
        return self.get_paginated_response(GoalOutputSerializer(
            goal_summaries(goals=list(page), on=timezone.localdate()), many=True).data)

    @extend_schema(request=GoalInputSerializer, responses={201: GoalOutputSerializer})
    def post(self, request):
        data = GoalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        goal = goal_create(user=request.user, **data.validated_data)
        return Response(GoalOutputSerializer(_summary(goal)).data, status=status.HTTP_201_CREATED)


class GoalDetailApi(APIView):
    """One goal (GET), changed (PATCH, partial) or removed (DELETE), with the same rules as creating it."""

    role_area = Area.GOALS

    def _goal(self, goal_id: int) -> Goal:
        goal = selectors.goal_get(goal_id=goal_id)
        if goal is None:
            raise NotFound(_("No such goal."))
        return goal

    @extend_schema(responses=GoalOutputSerializer)
    def get(self, request, goal_id: int):
        return Response(GoalOutputSerializer(_summary(self._goal(goal_id))).data)

    @extend_schema(request=GoalInputSerializer(partial=True), responses=GoalOutputSerializer)
    def patch(self, request, goal_id: int):
        goal = self._goal(goal_id)
        data = GoalInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        goal = goal_update(user=request.user, goal=goal, **data.validated_data)
        return Response(GoalOutputSerializer(_summary(goal)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, goal_id: int):
        goal_delete(user=request.user, goal=self._goal(goal_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GoalProgressSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = serializers.FloatField()
    expected = serializers.FloatField()


class GoalProgressApi(APIView):
    """A goal's stored daily history (value and expected value), oldest first."""

    role_area = Area.GOALS

    @extend_schema(responses=GoalProgressSerializer(many=True))
    def get(self, request, goal_id: int):
        goal = selectors.goal_get(goal_id=goal_id)
        if goal is None:
            raise NotFound(_("No such goal."))
        return Response(GoalProgressSerializer(selectors.goal_history(goal=goal), many=True).data)


# Teams


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    is_lead = serializers.BooleanField()


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Team.Kind.choices)
    description = serializers.CharField()
    members = MemberSerializer(many=True, source="memberships.all")


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Team.Kind.choices, default=Team.Kind.OTHER)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TeamListCreateApi(ListAPIView):
    """Teams with their members and leads (everyone reads); POST creates a team (administrators)."""

    role_area = Area.TEAMS
    serializer_class = TeamOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.team_list()

    @extend_schema(request=TeamInputSerializer, responses={201: TeamOutputSerializer})
    def post(self, request):
        data = TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_create(user=request.user, **data.validated_data)
        return Response(TeamOutputSerializer(team).data, status=status.HTTP_201_CREATED)


class MemberInputSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    is_lead = serializers.BooleanField(default=False)


class TeamMemberAddApi(APIView):
    """Add a staff member to a team, as a lead or not (administrators)."""

    role_area = Area.TEAMS

    @extend_schema(request=MemberInputSerializer, responses={201: MemberSerializer})
    def post(self, request, team_id: int):
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise NotFound(_("No such team."))
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = team_member_add(user=request.user, team=team, member=data.validated_data["user"],
                                     is_lead=data.validated_data["is_lead"])
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class TeamLeadInputSerializer(serializers.Serializer):
    is_lead = serializers.BooleanField()


class TeamMemberApi(APIView):
    """Make a member a lead or not (PATCH ``{"is_lead"}``) or take them out of the team (DELETE); administrators."""

    role_area = Area.TEAMS

    def _membership(self, team_id: int, membership_id: int) -> TeamMembership:
        membership = TeamMembership.objects.select_related("user").filter(pk=membership_id, team_id=team_id).first()
        if membership is None:
            raise NotFound(_("No such member."))
        return membership

    @extend_schema(request=TeamLeadInputSerializer, responses=MemberSerializer)
    def patch(self, request, team_id: int, membership_id: int):
        membership = self._membership(team_id, membership_id)
        data = TeamLeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = team_member_set_lead(user=request.user, membership=membership,
                                          is_lead=data.validated_data["is_lead"])
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, team_id: int, membership_id: int):
        team_member_remove(user=request.user, membership=self._membership(team_id, membership_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
