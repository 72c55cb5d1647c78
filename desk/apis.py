"""The desk API (/api/v1/desk/, /api/v1/alerts/, /api/v1/digests/). Thin: parse, check, call one selector or
service, serialize. Which alerts and digests a person sees is scoped in desk.selectors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from desk import selectors
from desk.models import Alert, Digest
from desk.services.alerts import alert_acknowledge
from ops_platform.core.fields import IdField
from ops_platform.core.roles import Action, Area


class AlertSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "kind", "severity", "subject", "day", "title", "message", "params", "link",
                  "audience_team_kind", "audience_role", "acknowledged_by", "acknowledged_at", "created_at"]


class AlertFilterSerializer(serializers.Serializer):
    acknowledged = serializers.BooleanField(required=False, allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False)
    since = serializers.DateField(required=False)


class DeskApi(APIView):
    """My desk: goals with pace, my to-do per section (count and items), my open alerts, the teams I lead."""

    role_area = Area.DESK

    @extend_schema(responses=inline_serializer("Desk", {
        "today": serializers.DateField(), "goals": serializers.ListField(child=serializers.DictField()),
        "todo_total": serializers.IntegerField(),
        "sections": serializers.ListField(child=serializers.DictField()),
        "alerts": AlertSerializer(many=True), "teams": serializers.ListField(child=serializers.DictField()),
    }))
    def get(self, request):
        desk = selectors.desk_for(user=request.user)
        teams = [{"id": t["team"].pk, "name": t["team"].name, "goals": t["goals"],
                  "members": [{**{k: v for k, v in m.items() if k != "user"}, "username": m["user"].get_username()}
                              for m in t["members"]]} for t in desk["teams"]]
        return Response({"today": desk["today"], "goals": desk["goals"], "todo_total": desk["todo_total"],
                         "sections": desk["sections"], "alerts": AlertSerializer(desk["alerts"], many=True).data,
                         "teams": teams})


class AlertListApi(ListAPIView):
    """Alerts whose audience includes me, newest first; ``acknowledged``, ``kind``, ``since`` filter them."""

    role_area = Area.DESK
    serializer_class = AlertSerializer
    queryset = Alert.objects.none()  # for the schema; the list comes from the selector
    filter_backends: list = []

    @extend_schema(parameters=[AlertFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = AlertFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.alert_list(user=self.request.user, **params.validated_data)


class AlertAcknowledgeApi(APIView):
    """Acknowledge an alert: it leaves every desk it was on. 404 for an alert outside my audience."""

    role_area = Area.DESK
    role_action = Action.CHANGE

    @extend_schema(request=None, responses=AlertSerializer)
    def post(self, request, alert_id: int):
        return Response(AlertSerializer(alert_acknowledge(user=request.user, alert_id=alert_id)).data)


class DigestSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", read_only=True)
    team_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Digest
        fields = ["id", "team", "team_id", "week", "created_at", "emailed_at", "emailed_to"]


class DigestDetailSerializer(DigestSerializer):
    class Meta(DigestSerializer.Meta):
        fields = [*DigestSerializer.Meta.fields, "content"]


class DigestFilterSerializer(serializers.Serializer):
    team = IdField(required=False)
    week = serializers.DateField(required=False)


class DigestListApi(ListAPIView):
    """The weekly digests of my teams (every team's for admins), newest week first."""

    role_area = Area.DESK
    serializer_class = DigestSerializer
    queryset = Digest.objects.none()
    filter_backends: list = []

    @extend_schema(parameters=[DigestFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = DigestFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return selectors.digest_list(user=self.request.user, team_id=data.get("team"), week=data.get("week"))


class DigestDetailApi(APIView):
    """One digest with its content; 403 for someone outside its team (admins read every digest)."""

    role_area = Area.DESK

    @extend_schema(responses=DigestDetailSerializer)
    def get(self, request, digest_id: int):
        digest = selectors.digest_get(digest_id=digest_id)
        if digest is None:
            raise NotFound(_("No such digest."))
        if not selectors.digest_can_read(user=request.user, digest=digest):
            raise PermissionDenied(_("This digest is for its team's members."))
        return Response(DigestDetailSerializer(digest).data)
