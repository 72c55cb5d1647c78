"""The insights API: /api/v1/insights/ (saved reports and their results), /api/v1/dashboards/ (grids of them),
/api/v1/annotations/, /api/v1/subscriptions/. Thin: parse, check, call one service or selector, serialize.

What a staff member may read is decided in the selectors (an insight's visibility and its report's area); one they
may not read is a 404, as if it did not exist; one they read but may not change is a 403.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from insights import selectors
from insights.models import Dashboard, DashboardTile, Insight, Subscription, Visibility
from insights.services import annotations as annotation_services
from insights.services import dashboards as dashboard_services
from insights.services import insights as insight_services
from insights.services import subscriptions as subscription_services
from insights.services.results import dashboard_tile_states, insight_result, result_payload
from insights.tasks import dashboard_refresh_queue
from ops_platform.core.fields import IdField
from ops_platform.core.periods import RELATIVE_RANGE
from ops_platform.core.reports import report_kind
from ops_platform.core.roles import Action, Area
from users.selectors import segment_get

RANGE_HELP = ("Relative range resolved when read, in TIME_ZONE: last_N_days (N complete days up to yesterday), "
              "last_N_weeks, last_N_months (complete weeks, Monday first, or months), this_week, this_month (so far); "
              "empty: the dates in params.")


def _flag(request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in {"1", "true", "yes"}


# Insights


class InsightOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.SerializerMethodField()
    params = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    date_range = serializers.CharField()
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    team_id = serializers.IntegerField(allow_null=True)
    owner_id = serializers.IntegerField(allow_null=True)
    owner = serializers.CharField(source="owner.username", default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_kind_label(self, insight) -> str:
        kind = report_kind(insight.kind)
        return str(kind.label) if kind else insight.kind


class InsightFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200)
    kind = serializers.CharField(required=False, max_length=40)
    owner = IdField(required=False)


class ParamsField(serializers.DictField):
    """The report's query parameters: ``{name: value or [values]}`` (checked by the report's own parser)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict) or len(data) > 40:
            raise serializers.ValidationError(_("Give an object of at most 40 parameter names and their values."))
        return data


class InsightInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    kind = serializers.CharField(max_length=40)
    params = ParamsField(required=False, default=dict)
    date_range = serializers.RegexField(RELATIVE_RANGE, required=False, allow_blank=True, default="",
                                        max_length=30, help_text=RANGE_HELP)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PRIVATE)
    team = IdField(required=False, allow_null=True, default=None)


class InsightUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    params = ParamsField(required=False)
    date_range = serializers.RegexField(RELATIVE_RANGE, required=False, allow_blank=True, max_length=30,
                                        help_text=RANGE_HELP)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    team = IdField(required=False, allow_null=True)


def _insight_or_404(request, insight_id: int) -> Insight:
    insight = selectors.insight_get(user=request.user, insight_id=insight_id)
    if insight is None:
        raise NotFound(_("No such insight."))
    return insight


def _update_arguments(data: dict) -> dict:
    arguments = {key: data[key] for key in ("name", "description", "params", "date_range", "visibility")
                 if key in data}
    if "team" in data:
        arguments["team_id"] = data["team"]
    return arguments


class InsightListCreateApi(ListAPIView):
    """Saved insights the caller may read (newest change first); POST saves one: a report ``kind`` with its exact
    query ``params`` (checked by the report's own parser: its API's rules and messages)."""

    role_area = Area.INSIGHTS
    serializer_class = InsightOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[InsightFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = InsightFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return selectors.insight_list(user=self.request.user, q=data.get("q"), kind=data.get("kind"),
                                      owner_id=data.get("owner"))

    @extend_schema(request=InsightInputSerializer, responses={201: InsightOutputSerializer})
    def post(self, request):
        params = InsightInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        insight = insight_services.insight_create(
            user=request.user, kind=data["kind"], params=data["params"], name=data["name"],
            description=data["description"], date_range=data["date_range"], visibility=data["visibility"],
            team_id=data["team"])
        return Response(InsightOutputSerializer(insight).data, status=status.HTTP_201_CREATED)


class InsightDetailApi(APIView):
    role_area = Area.INSIGHTS

    @extend_schema(responses=InsightOutputSerializer)
    def get(self, request, insight_id: int):
        return Response(InsightOutputSerializer(_insight_or_404(request, insight_id)).data)

    @extend_schema(request=InsightUpdateSerializer, responses=InsightOutputSerializer)
    def patch(self, request, insight_id: int):
        insight = _insight_or_404(request, insight_id)
        params = InsightUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        insight = insight_services.insight_update(user=request.user, insight=insight,
                                                  **_update_arguments(params.validated_data))
        return Response(InsightOutputSerializer(insight).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, insight_id: int):
        insight_services.insight_delete(user=request.user, insight=_insight_or_404(request, insight_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InsightDuplicateApi(APIView):
    """A private copy of an insight the caller reads, owned by them."""

    role_area = Area.INSIGHTS

    @extend_schema(request=None, responses={201: InsightOutputSerializer})
    def post(self, request, insight_id: int):
        copy = insight_services.insight_duplicate(user=request.user, insight=_insight_or_404(request, insight_id))
        return Response(InsightOutputSerializer(copy).data, status=status.HTTP_201_CREATED)


RESULT_RESPONSE = inline_serializer("InsightResult", {
    "kind": serializers.CharField(), "query": serializers.DictField(),
    "date_from": serializers.DateField(allow_null=True), "date_to": serializers.DateField(allow_null=True),
    "computed_at": serializers.DateTimeField(allow_null=True), "cached": serializers.BooleanField(),
    "stale": serializers.BooleanField(), "result": serializers.DictField(allow_null=True),
    "error": serializers.DictField(allow_null=True),
})


class InsightResultApi(APIView):
    """The report's answer for the insight's saved parameters (relative ranges resolved now, in TIME_ZONE): in
    ``result``, exactly what the report's own API answers for ``query``. Served from the cache while fresh;
    ``refresh=1`` recomputes it. ``error`` instead when the report refuses the saved parameters today. 403 (on
    ``segment``/``exclude_segment``) when it is restricted to a segment and the caller's role may not see one."""

    role_area = Area.INSIGHTS

    @extend_schema(responses=RESULT_RESPONSE)
    def get(self, request, insight_id: int):
        insight = _insight_or_404(request, insight_id)
        evaluated = insight_result(user=request.user, insight=insight, refresh=_flag(request, "refresh"))
        return Response(result_payload(evaluated, shown=_flag(request, "shown")))


class ReportKindListApi(APIView):
    """The reports the caller may save as insights, with the parameters each takes."""

    role_area = Area.INSIGHTS

    @extend_schema(responses=inline_serializer("ReportKind", {
        "key": serializers.CharField(), "label": serializers.CharField(), "area": serializers.CharField(),
        "parameters": serializers.ListField(child=serializers.CharField()), "dated": serializers.BooleanField(),
        "segment_filter": serializers.BooleanField()}, many=True))
    def get(self, request):
        return Response([{"key": kind.key, "label": str(kind.label), "area": str(kind.area),
                          "parameters": list(kind.parameters), "dated": kind.dated,
                          "segment_filter": kind.segment_filter}
                         for kind in selectors.kinds_for(user=request.user)])


# Dashboards


class TileOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    insight_id = serializers.IntegerField()
    insight_name = serializers.CharField(source="insight.name")
    kind = serializers.CharField(source="insight.kind")
    position = serializers.IntegerField()
    display = serializers.ChoiceField(choices=DashboardTile.Display.choices)
    wide = serializers.BooleanField()


class DashboardOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    team_id = serializers.IntegerField(allow_null=True)
    owner_id = serializers.IntegerField(allow_null=True)
    pinned = serializers.BooleanField()
    date_range = serializers.CharField()
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    segment_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DashboardDetailOutputSerializer(DashboardOutputSerializer):
    tiles = TileOutputSerializer(many=True)


class DashboardInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    team = IdField(required=False, allow_null=True, default=None)


class DashboardUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    date_range = serializers.RegexField(RELATIVE_RANGE, required=False, allow_blank=True, max_length=30,
                                        help_text=RANGE_HELP)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    segment = IdField(required=False, allow_null=True)

    def validate_segment(self, value):
        if value is not None and segment_get(segment_id=value) is None:
            raise serializers.ValidationError(_("No such segment."))
        return value


def _dashboard_or_404(request, dashboard_id: int) -> Dashboard:
    dashboard = selectors.dashboard_get(user=request.user, dashboard_id=dashboard_id)
    if dashboard is None:
        raise NotFound(_("No such dashboard."))
    return dashboard


def _tile_or_404(dashboard: Dashboard, tile_id: int) -> DashboardTile:
    tile = dashboard.tiles.select_related("insight", "dashboard").filter(pk=tile_id).first()
    if tile is None:
        raise NotFound(_("No such tile."))
    return tile


def _dashboard_detail(dashboard: Dashboard) -> dict:
    dashboard.tiles_list = selectors.dashboard_tiles(dashboard=dashboard)
    data = DashboardOutputSerializer(dashboard).data
    data["tiles"] = TileOutputSerializer(dashboard.tiles_list, many=True).data
    return data


class DashboardListCreateApi(ListAPIView):
    """The dashboards the caller reads: their teams' and their own; POST makes one (``team`` for a team's)."""

    role_area = Area.INSIGHTS
    serializer_class = DashboardOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.dashboard_list(user=self.request.user)

    @extend_schema(request=DashboardInputSerializer, responses={201: DashboardDetailOutputSerializer})
    def post(self, request):
        params = DashboardInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        dashboard = dashboard_services.dashboard_create(user=request.user, name=data["name"],
                                                        description=data["description"], team_id=data["team"])
        return Response(_dashboard_detail(dashboard), status=status.HTTP_201_CREATED)


class DashboardDetailApi(APIView):
    role_area = Area.INSIGHTS

    @extend_schema(responses=DashboardDetailOutputSerializer)
    def get(self, request, dashboard_id: int):
        return Response(_dashboard_detail(_dashboard_or_404(request, dashboard_id)))

    @extend_schema(request=DashboardUpdateSerializer, responses=DashboardDetailOutputSerializer)
    def patch(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        params = DashboardUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if "segment" in data:
            data["segment_id"] = data.pop("segment")
        dashboard = dashboard_services.dashboard_update(user=request.user, dashboard=dashboard, **data)
        return Response(_dashboard_detail(dashboard))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, dashboard_id: int):
        dashboard_services.dashboard_delete(user=request.user, dashboard=_dashboard_or_404(request, dashboard_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TileInputSerializer(serializers.Serializer):
    insight = IdField()
    display = serializers.ChoiceField(choices=DashboardTile.Display.choices, default=DashboardTile.Display.CHART)
    wide = serializers.BooleanField(default=False)


class TileUpdateSerializer(serializers.Serializer):
    display = serializers.ChoiceField(choices=DashboardTile.Display.choices, required=False)
    wide = serializers.BooleanField(required=False)


class DashboardTileCreateApi(APIView):
    """Add an insight to the dashboard (at the end); it must be shared with everyone who reads the dashboard."""

    role_area = Area.INSIGHTS

    @extend_schema(request=TileInputSerializer, responses={201: TileOutputSerializer})
    def post(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        params = TileInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        tile = dashboard_services.tile_add(user=request.user, dashboard=dashboard, insight_id=data["insight"],
                                           display=data["display"], wide=data["wide"])
        return Response(TileOutputSerializer(tile).data, status=status.HTTP_201_CREATED)


class DashboardTileDetailApi(APIView):
    role_area = Area.INSIGHTS

    @extend_schema(request=TileUpdateSerializer, responses=TileOutputSerializer)
    def patch(self, request, dashboard_id: int, tile_id: int):
        tile = _tile_or_404(_dashboard_or_404(request, dashboard_id), tile_id)
        params = TileUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        tile = dashboard_services.tile_update(user=request.user, tile=tile, **params.validated_data)
        return Response(TileOutputSerializer(tile).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, dashboard_id: int, tile_id: int):
        tile = _tile_or_404(_dashboard_or_404(request, dashboard_id), tile_id)
        dashboard_services.tile_remove(user=request.user, tile=tile)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TileOrderSerializer(serializers.Serializer):
    tiles = serializers.ListField(child=IdField(), max_length=dashboard_services.MAX_TILES)


class DashboardTileOrderApi(APIView):
    """Put the tiles in a new order: every tile id of the dashboard, once each (what a drag sends)."""

    role_area = Area.INSIGHTS

    @extend_schema(request=TileOrderSerializer, responses=TileOutputSerializer(many=True))
    def post(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        params = TileOrderSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        tiles = dashboard_services.tiles_reorder(user=request.user, dashboard=dashboard,
                                                 tile_ids=params.validated_data["tiles"])
        return Response(TileOutputSerializer(tiles, many=True).data)


class DashboardTileResultApi(APIView):
    """A tile's answer with the dashboard's range and segment applied, and how it is shown (chart, number, table in
    the caller's language). ``refresh=1`` recomputes it now. 404 for a tile whose insight the caller may not read;
    403 when the answer is restricted to a segment (the insight's or the dashboard's) and their role may not see one."""

    role_area = Area.INSIGHTS

    @extend_schema(responses=RESULT_RESPONSE)
    def get(self, request, dashboard_id: int, tile_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        tile = _tile_or_404(dashboard, tile_id)
        if selectors.insight_get(user=request.user, insight_id=tile.insight_id) is None:
            raise NotFound(_("No such insight."))
        evaluated = insight_result(user=request.user, insight=tile.insight, dashboard=dashboard,
                                   refresh=_flag(request, "refresh"))
        return Response(result_payload(evaluated, shown=True))


class DashboardRefreshApi(APIView):
    """Recompute every tile in the background (a Celery task); the tiles show their new time when it is done."""

    role_area = Area.INSIGHTS
    role_action = Action.VIEW

    @extend_schema(request=None, responses={202: inline_serializer("DashboardRefreshQueued", {
        "queued": serializers.BooleanField()})})
    def post(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        return Response({"queued": dashboard_refresh_queue(dashboard_id=dashboard.pk)},
                        status=status.HTTP_202_ACCEPTED)


class DashboardResultsApi(APIView):
    """Every tile's stored answer at once (one query, no computation): what the page shows before it asks for the
    missing or stale ones."""

    role_area = Area.INSIGHTS

    @extend_schema(responses=inline_serializer("DashboardResults", {
        "tiles": serializers.ListField(child=serializers.DictField())}))
    def get(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        return Response({"tiles": dashboard_tile_states(user=request.user, dashboard=dashboard)})


class PinInputSerializer(serializers.Serializer):
    pinned = serializers.BooleanField()


class DashboardPinApi(APIView):
    """Pin a team's dashboard under the desk on its members' home page (replacing the platform block), or unpin."""

    role_area = Area.INSIGHTS

    @extend_schema(request=PinInputSerializer, responses=DashboardOutputSerializer)
    def post(self, request, dashboard_id: int):
        dashboard = _dashboard_or_404(request, dashboard_id)
        params = PinInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        dashboard = dashboard_services.dashboard_pin(user=request.user, dashboard=dashboard,
                                                     pinned=params.validated_data["pinned"])
        return Response(DashboardOutputSerializer(dashboard).data)


# Annotations


class AnnotationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    date = serializers.DateField()
    text = serializers.CharField(max_length=200)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)

    def validate_date(self, value):
        if not 1970 <= value.year <= 2099:
            raise serializers.ValidationError(_("Enter a date between 1970-01-01 and 2099-12-31."))
        return value


class AnnotationFilterSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class AnnotationListCreateApi(ListAPIView):
    """Notes on dates, drawn on every time chart beside the launch markers; anyone who reads analytics adds one."""

    role_area = Area.ANALYTICS
    role_action = Action.VIEW
    serializer_class = AnnotationSerializer
    filter_backends: list = []

    @extend_schema(parameters=[AnnotationFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = AnnotationFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.annotation_list(**params.validated_data)

    @extend_schema(request=AnnotationSerializer, responses={201: AnnotationSerializer})
    def post(self, request):
        params = AnnotationSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        annotation = annotation_services.annotation_create(user=request.user, day=params.validated_data["date"],
                                                           text=params.validated_data["text"])
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailApi(APIView):
    role_area = Area.ANALYTICS
    role_action = Action.VIEW

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, annotation_id: int):
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        if annotation is None:
            raise NotFound(_("No such annotation."))
        annotation_services.annotation_delete(user=request.user, annotation=annotation)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Subscriptions


class SubscriptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    insight_id = serializers.IntegerField(allow_null=True)
    dashboard_id = serializers.IntegerField(allow_null=True)
    frequency = serializers.ChoiceField(choices=Subscription.Frequency.choices)
    weekday = serializers.IntegerField()
    time = serializers.TimeField(format="%H:%M")
    date_range = serializers.CharField()
    team_id = serializers.IntegerField(allow_null=True)
    recipients = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    created_by_id = serializers.IntegerField(allow_null=True)

    def get_recipients(self, subscription) -> list[int]:
        return [person.pk for person in subscription.recipients.all()]


class SubscriptionInputSerializer(serializers.Serializer):
    insight = IdField(required=False, allow_null=True, default=None)
    dashboard = IdField(required=False, allow_null=True, default=None)
    frequency = serializers.ChoiceField(choices=Subscription.Frequency.choices)
    weekday = serializers.IntegerField(min_value=0, max_value=6, default=0, help_text="0 = Monday (weekly ones).")
    time = serializers.TimeField(help_text="HH:MM in TIME_ZONE.")
    date_range = serializers.RegexField(RELATIVE_RANGE, required=False, allow_blank=True, default="", max_length=30,
                                        help_text=RANGE_HELP)
    team = IdField(required=False, allow_null=True, default=None)
    recipients = serializers.ListField(child=IdField(), required=False, default=list, max_length=200)


class SubscriptionUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    frequency = serializers.ChoiceField(choices=Subscription.Frequency.choices, required=False)
    weekday = serializers.IntegerField(min_value=0, max_value=6, required=False)
    time = serializers.TimeField(required=False)
    date_range = serializers.RegexField(RELATIVE_RANGE, required=False, allow_blank=True, max_length=30)
    team = IdField(required=False, allow_null=True)
    recipients = serializers.ListField(child=IdField(), required=False, max_length=200)


class SubscriptionListCreateApi(ListAPIView):
    """Subscriptions the caller made or receives; POST makes one: an ``insight`` or a ``dashboard`` e-mailed daily
    at ``time`` or weekly on ``weekday`` at ``time`` (TIME_ZONE) to a ``team``'s members and/or ``recipients``."""

    role_area = Area.INSIGHTS
    serializer_class = SubscriptionOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.subscription_list(user=self.request.user)

    @extend_schema(request=SubscriptionInputSerializer, responses={201: SubscriptionOutputSerializer})
    def post(self, request):
        params = SubscriptionInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        subscription = subscription_services.subscription_create(
            user=request.user, frequency=data["frequency"], weekday=data["weekday"], at=data["time"],
            insight_id=data["insight"], dashboard_id=data["dashboard"], date_range=data["date_range"],
            team_id=data["team"], recipient_ids=data["recipients"])
        return Response(SubscriptionOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)


def _subscription_or_404(request, subscription_id: int) -> Subscription:
    subscription = selectors.subscription_get(user=request.user, subscription_id=subscription_id)
    if subscription is None:
        raise NotFound(_("No such subscription."))
    return subscription


class SubscriptionDetailApi(APIView):
    role_area = Area.INSIGHTS

    @extend_schema(responses=SubscriptionOutputSerializer)
    def get(self, request, subscription_id: int):
        return Response(SubscriptionOutputSerializer(_subscription_or_404(request, subscription_id)).data)

    @extend_schema(request=SubscriptionUpdateSerializer, responses=SubscriptionOutputSerializer)
    def patch(self, request, subscription_id: int):
        subscription = _subscription_or_404(request, subscription_id)
        params = SubscriptionUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        changes = {key: data[key] for key in ("frequency", "weekday", "date_range") if key in data}
        if "time" in data:
            changes["at"] = data["time"]
        if "team" in data:
            changes["team_id"] = data["team"]
        if "recipients" in data:
            changes["recipient_ids"] = data["recipients"]
        subscription = subscription_services.subscription_update(user=request.user, subscription=subscription,
                                                                 enabled=data.get("enabled"), **changes)
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, subscription_id: int):
        subscription_services.subscription_delete(user=request.user,
                                                  subscription=_subscription_or_404(request, subscription_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
