"""The desk API (/api/v1/desk/, /api/v1/alerts/, /api/v1/digests/). Thin: parse, check, call one selector or
service, serialize. Which alerts and digests a person sees is scoped in desk.selectors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from desk import selectors
from desk.models import Alert, AlertRule, Digest
from desk.services import rules as rule_services
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


# Alert rules


class AlertRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices)
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    insight_id = serializers.IntegerField(allow_null=True)
    metric = serializers.CharField()
    condition = serializers.CharField()
    threshold = serializers.FloatField(allow_null=True)
    period = serializers.ChoiceField(choices=AlertRule.Period.choices)
    options = serializers.DictField()
    severity = serializers.CharField()
    email = serializers.BooleanField()
    owner_id = serializers.IntegerField(allow_null=True)


class AlertRuleInputSerializer(serializers.Serializer):
    insight = IdField()
    metric = serializers.CharField(max_length=40, help_text="An AARRR stage (acquisition … referral), conversion "
                                                            "(funnel), size (segment), or value (a report's headline).")
    condition = serializers.ChoiceField(choices=AlertRule.Condition.choices)
    threshold = serializers.FloatField(help_text="A value for above/below; a ratio for change/drop (0.2 = 20 %).")
    period = serializers.ChoiceField(choices=AlertRule.Period.choices, default=AlertRule.Period.WEEK)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.BooleanField(default=False)


class AlertRuleUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    threshold = serializers.FloatField(required=False, allow_null=True)
    condition = serializers.ChoiceField(choices=AlertRule.Condition.choices, required=False)
    metric = serializers.CharField(max_length=40, required=False)
    period = serializers.ChoiceField(choices=AlertRule.Period.choices, required=False)
    email = serializers.BooleanField(required=False)
    name = serializers.CharField(max_length=200, required=False)
    options = serializers.DictField(required=False)

    def validate_options(self, value):
        if len(value) > 10 or any(not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0
                                  for v in value.values()):
            raise serializers.ValidationError(_("Options are up to 10 names with numbers of 0 or more."))
        return value


class AlertRuleListCreateApi(ListAPIView):
    """The built-in rules and mine (all for administrators); POST sets a rule on a saved insight I read."""

    role_area = Area.ALERT_RULES
    serializer_class = AlertRuleSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.alert_rule_visible_to(user=self.request.user).order_by("kind", "name", "id")

    @extend_schema(request=AlertRuleInputSerializer, responses={201: AlertRuleSerializer})
    def post(self, request):
        params = AlertRuleInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rule = rule_services.alert_rule_create(user=request.user, insight_id=data["insight"], metric=data["metric"],
                                               condition=data["condition"], threshold=data["threshold"],
                                               period=data["period"], name=data["name"], email=data["email"])
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertRuleDetailApi(APIView):
    """A rule: administrators change the built-in ones (switch, threshold, options), owners change theirs."""

    role_area = Area.ALERT_RULES

    def _rule(self, request, rule_id: int) -> AlertRule:
        rule = selectors.alert_rule_visible_to(user=request.user).filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(_("No such rule."))
        return rule

    @extend_schema(responses=AlertRuleSerializer)
    def get(self, request, rule_id: int):
        return Response(AlertRuleSerializer(self._rule(request, rule_id)).data)

    @extend_schema(request=AlertRuleUpdateSerializer, responses=AlertRuleSerializer)
    def patch(self, request, rule_id: int):
        rule = self._rule(request, rule_id)
        params = AlertRuleUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        rule = rule_services.alert_rule_update(user=request.user, rule=rule, **params.validated_data)
        return Response(AlertRuleSerializer(rule).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, rule_id: int):
        rule_services.alert_rule_delete(user=request.user, rule=self._rule(request, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertNotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    alert = AlertSerializer()
    read_at = serializers.DateTimeField(allow_null=True)
    emailed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)


class AlertNotificationListApi(ListAPIView):
    """The alerts of my rules that fired, newest first (``unread=true`` for the top bar's count)."""

    role_area = Area.DESK
    serializer_class = AlertNotificationSerializer
    filter_backends: list = []

    @extend_schema(parameters=[NotificationFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = NotificationFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.notification_list(user=self.request.user, unread=params.validated_data["unread"])


class AlertNotificationReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), required=False, max_length=1000)


class AlertNotificationReadApi(APIView):
    """Mark my notifications read (these ``ids``, or all)."""

    role_area = Area.DESK
    role_action = Action.CHANGE

    @extend_schema(request=AlertNotificationReadInputSerializer, responses=inline_serializer("AlertNotificationsRead", {
        "read": serializers.IntegerField()}))
    def post(self, request):
        params = AlertNotificationReadInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response({"read": rule_services.notifications_read(user=request.user,
                                                                   ids=params.validated_data.get("ids"))})
