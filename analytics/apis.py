from rest_framework import serializers
from rest_framework.generics import ListAPIView

from analytics.models import MetricsRun
from ops_platform.core.roles import Area


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
