from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.models import AarrrDaily, MetricsRun
from analytics.selectors import aarrr_daily_list
from analytics.tasks import metrics_backfill_queue
from ops_platform.core.roles import Area

MAX_RANGE_DAYS = 3660


class MetricsRunOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricsRun
        fields = ["id", "date_from", "date_to", "trigger", "status", "started_at", "finished_at", "rows", "error"]


class MetricsRunListApi(ListAPIView):
    """Runs of the metrics computation, newest first."""

    role_area = Area.METRICS_RUNS
    serializer_class = MetricsRunOutputSerializer
    queryset = MetricsRun.objects.order_by("-started_at", "-id")
    filterset_fields = ["status", "trigger"]


class DateRangeInputSerializer(serializers.Serializer):
    """``date_from`` / ``date_to`` (YYYY-MM-DD, inclusive); by default the last 30 days up to yesterday."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        date_to = attrs.get("date_to") or timezone.localdate() - timedelta(days=1)
        date_from = attrs.get("date_from") or date_to - timedelta(days=29)
        if date_from > date_to:
            raise serializers.ValidationError({"date_from": ["date_from must be on or before date_to."]})
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"date_to": [f"The range may span at most {MAX_RANGE_DAYS} days; ask for a shorter one."]})
        return {**attrs, "date_from": date_from, "date_to": date_to}


class AarrrInputSerializer(DateRangeInputSerializer):
    channel = serializers.CharField(required=False, max_length=100)


class AarrrDailyOutputSerializer(serializers.ModelSerializer):
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=False)

    class Meta:
        model = AarrrDaily
        fields = ["date", "channel", "acquisition", "activation", "retention", "revenue", "paying_customers",
                  "referral"]


class AarrrDailyListApi(ListAPIView):
    """The stored nightly AARRR rows per day and first-touch channel (DESIGN.md, metric semantics)."""

    role_area = Area.ANALYTICS
    serializer_class = AarrrDailyOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[AarrrInputSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = AarrrInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return aarrr_daily_list(**params.validated_data)


class MetricsBackfillInputSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs):
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": ["date_from must be on or before date_to."]})
        if attrs["date_to"] > timezone.localdate():
            raise serializers.ValidationError({"date_to": ["date_to cannot be in the future."]})
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"date_to": [f"A backfill may span at most {MAX_RANGE_DAYS} days; split it."]})
        return attrs


class MetricsBackfillApi(APIView):
    """Recompute the AARRR rows of a date range on the workers, as week-long tasks running in parallel."""

    role_area = Area.METRICS_RUNS

    @extend_schema(request=MetricsBackfillInputSerializer, responses={202: inline_serializer(
        "MetricsBackfillQueued", {"queued": serializers.IntegerField(), "date_from": serializers.DateField(),
                                  "date_to": serializers.DateField()})})
    def post(self, request):
        params = MetricsBackfillInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        queued = metrics_backfill_queue(**params.validated_data)
        return Response({"queued": queued, **MetricsBackfillInputSerializer(params.validated_data).data},
                        status=status.HTTP_202_ACCEPTED)
