"""The report API: funnel, retention and golden time, computed on request (contracts in DESIGN.md).

Thin: the query string goes through the report's form (the same rules as the pages), then one selector.
A bad parameter is a 400 with field errors in the API's one error format, never a 500.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.forms import FunnelForm, GoldenTimeForm, RetentionForm
from ops_platform.core.db import statement_timeout
from ops_platform.core.roles import Area


def _valid(form):
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.report_arguments()


def _compute(compute, form):
    """The report, its queries under the report time limit (a 503 that says so when it is hit)."""
    arguments = _valid(form)
    with statement_timeout():
        return Response(compute(**arguments))


DATE_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, required=True, description="First local day (TIME_ZONE)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                     description="Last local day, included; at most 400 days after date_from."),
]
_STEP = inline_serializer("FunnelStep", {
    "event": serializers.CharField(), "count": serializers.IntegerField(),
    "conversion_from_previous": serializers.FloatField(), "conversion_from_first": serializers.FloatField(),
    "median_seconds_to_convert": serializers.FloatField(allow_null=True),
    "avg_seconds_to_convert": serializers.FloatField(allow_null=True),
}, many=True)


class FunnelApi(APIView):
    """An ordered funnel: entry at each customer's earliest first-step event in the range, then each step's
    earliest event strictly after the previous one, within ``window_days`` of the entry."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[
            OpenApiParameter("steps", str, required=True, description="2–10 event names, comma-separated, in order."),
            OpenApiParameter("window_days", int, required=True, description="Conversion window, 1–365 days."),
            *DATE_PARAMETERS,
            OpenApiParameter("breakdown", str, enum=["channel"], description="Split by the entry event's channel."),
        ],
        responses=inline_serializer("Funnel", {
            "steps": _STEP,
            "breakdown": inline_serializer("FunnelBreakdown", {"value": serializers.CharField(), "steps": _STEP},
                                           many=True, required=False),
        }),
    )
    def get(self, request):
        return _compute(selectors.funnel_compute, FunnelForm(request.query_params))


class RetentionApi(APIView):
    """Cohorts by the period of each customer's first-ever ``cohort_event``, retained by ``return_event``."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[
            OpenApiParameter("cohort_event", str, required=True),
            OpenApiParameter("return_event", str, required=True),
            OpenApiParameter("period", str, required=True, enum=["day", "week", "month"]),
            *DATE_PARAMETERS,
            OpenApiParameter("periods", int, description="Periods per cohort, 1–60 (default 8)."),
        ],
        responses=inline_serializer("Retention", {
            "period": serializers.CharField(),
            "cohorts": inline_serializer("RetentionCohort", {
                "cohort": serializers.DateField(), "size": serializers.IntegerField(),
                "retained": serializers.ListField(child=serializers.IntegerField(allow_null=True)),
                "complete": serializers.IntegerField(),
            }, many=True),
        }),
    )
    def get(self, request):
        return _compute(selectors.retention_compute, RetentionForm(request.query_params))


class GoldenTimeApi(APIView):
    """运营黄金时间: events per local weekday (0 = Monday) and hour, and the busiest slots."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[OpenApiParameter("event", str, required=True), *DATE_PARAMETERS],
        responses=inline_serializer("GoldenTime", {
            "event": serializers.CharField(), "total": serializers.IntegerField(),
            "matrix": serializers.ListField(child=serializers.ListField(child=serializers.IntegerField())),
            "top": inline_serializer("GoldenTimeSlot", {
                "weekday": serializers.IntegerField(), "hour": serializers.IntegerField(),
                "count": serializers.IntegerField(),
            }, many=True),
        }),
    )
    def get(self, request):
        return _compute(selectors.golden_time_compute, GoldenTimeForm(request.query_params))
