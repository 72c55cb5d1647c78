from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ops_platform.core.roles import Area
from ops_platform.dashboard.selectors import dashboard_summary


class DashboardSummaryApi(APIView):
    """The figures of the home dashboard."""

    role_area = Area.DASHBOARD

    @extend_schema(responses=inline_serializer("DashboardSummary", {
        "events": serializers.IntegerField(), "customers": serializers.IntegerField(),
        "merchants": serializers.IntegerField(), "open_tickets": serializers.IntegerField(),
        "last_run": serializers.DictField(allow_null=True),
    }))
    def get(self, request):
        summary = dashboard_summary()
        run = summary["last_run"]
        return Response({
            "events": summary["events"],
            "customers": summary["customers"],
            "merchants": summary["merchants"],
            "merchants_live": summary["merchants_live"],
            "open_tickets": summary["open_tickets"],
            "last_run": None if run is None else {
                "id": run.id, "status": run.status, "trigger": run.trigger,
                "date_from": run.date_from, "date_to": run.date_to, "rows": run.rows,
                "started_at": run.started_at, "finished_at": run.finished_at, "error": run.error,
            },
        })
