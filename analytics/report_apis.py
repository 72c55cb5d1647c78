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
from analytics.report_forms import (
    MAX_ID,
    FilteredFunnelForm,
    FilteredGoldenTimeForm,
    FilteredRetentionForm,
    StickinessForm,
    TrendsForm,
)
from analytics.services.trends import MAX_BREAKDOWN_LIMIT
from ops_platform.core.cohorts import segment_filter_allowed
from ops_platform.core.db import statement_timeout
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Area


def _valid(form):
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.report_arguments()


def segment_permission_check(user, form) -> None:
    """A 403 when the query restricts to (or leaves out) a segment and ``user`` may not read customer records."""
    if getattr(form, "uses_segment", False) and not segment_filter_allowed(user):
        raise ApplicationError("Your role does not allow restricting a report to a segment: it can single out "
                               "customers. Ask an administrator for access to customer records.", status_code=403,
                               code="permission_denied")


def _compute(compute, form, user=None):
    """The report, its queries under the report time limit (a 503 that says so when it is hit)."""
    segment_permission_check(user, form)
    arguments = _valid(form)
    with statement_timeout():
        return Response(compute(**arguments))


DATE_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, required=True, description="First local day (TIME_ZONE)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                     description="Last local day, included; at most 400 days after date_from."),
]
WHERE_PARAMETER = OpenApiParameter(
    "where", str, many=True, description=(
        "Repeatable; all must hold. properties.<key>:<op>:<value> with op one of eq, neq, in, not_in, contains, gt, "
        "gte, lt, lte, is_set, is_not_set (in/not_in values separated by |; gt…lte compare numbers; is_set and "
        "is_not_set take no value). Example: properties.merchant_id:eq:m12"))
SEGMENT_PARAMETERS = [
    OpenApiParameter("segment", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                     description="Only the members of this segment (needs customer records)."),
    OpenApiParameter("exclude_segment", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                     description="Leave out the members of this segment (needs customer records)."),
]
_STEP = inline_serializer("FunnelStep", {
    "event": serializers.CharField(), "count": serializers.IntegerField(),
    "conversion_from_previous": serializers.FloatField(), "conversion_from_first": serializers.FloatField(),
    "median_seconds_to_convert": serializers.FloatField(allow_null=True),
    "avg_seconds_to_convert": serializers.FloatField(allow_null=True),
    "value_sum": serializers.FloatField(required=False, help_text=(
        "With value_property: the sum of the property (JSON numbers) on the event matched at this step, over the "
        "customers counted here (0 when none has one).")),
    "value_avg": serializers.FloatField(required=False, allow_null=True, help_text=(
        "With value_property: the mean over the customers counted here whose matched event has a number.")),
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
            OpenApiParameter("closed_only", bool, description=(
                "Only the entrants whose window has closed by now (entered at or before window.closed_before): "
                "their conversions are final. By default every entrant counts, and window.entrants_open says how "
                "many of them can still convert.")),
            OpenApiParameter("breakdown", {"type": "string", "pattern": r"^(channel|properties\.[^:]{1,200})$"},
                             description="Split by the entry event's channel, or by the text of one of its "
                                         "properties (properties.utm_source); missing or empty reads (none)."),
            OpenApiParameter("breakdown_limit", {"type": "integer", "minimum": 1, "maximum": MAX_BREAKDOWN_LIMIT},
                             description="Breakdown values with a row of their own, by entrants, 1–25 (10); the "
                                         "other entrants in one (other) row, last."),
            OpenApiParameter("step_windows", str, description=(
                "Per step after the first, its own window from the previous step's match: a number and a unit "
                "s, m, h or d (1 s–365 d), comma-separated, an empty entry for none; the overall window still "
                "applies. Example: 1d,2h")),
            OpenApiParameter("exclude", str, many=True, description=(
                "Repeatable, at most 5: <event>:<a>:<b> (steps from 1, a < b). A customer with that event strictly "
                "between their step-a and step-b matches (step b not matched: up to entry + window) counts at "
                "steps 1…a only. Example: ticket_opened:2:3")),
            OpenApiParameter("value_property", str, description=(
                "A numeric property (amount or properties.amount): each step gets value_sum and value_avg of it "
                "on the event matched at that step.")),
            WHERE_PARAMETER, *SEGMENT_PARAMETERS,
        ],
        responses=inline_serializer("Funnel", {
            "steps": _STEP,
            "window": inline_serializer("FunnelWindow", {
                "days": serializers.IntegerField(),
                "as_of": serializers.DateTimeField(help_text="The instant the funnel was computed at."),
                "closed_before": serializers.DateTimeField(help_text=(
                    "as_of − window: an entrant at or before it has had their whole window.")),
                "closed_only": serializers.BooleanField(),
                "entrants_open": serializers.IntegerField(help_text=(
                    "Counted entrants whose window had not closed at as_of: their later steps can still come.")),
                "complete": serializers.BooleanField(help_text=(
                    "Every possible entrant's window has closed: the answer no longer changes with time.")),
            }),
            "breakdown": inline_serializer("FunnelBreakdown", {
                "value": serializers.CharField(), "steps": _STEP,
                "entrants_window_open": serializers.IntegerField()}, many=True, required=False),
        }),
    )
    def get(self, request):
        return _compute(selectors.funnel_compute, FilteredFunnelForm(request.query_params), request.user)


_COHORTS = inline_serializer("RetentionCohort", {
    "cohort": serializers.DateField(), "size": serializers.IntegerField(),
    "retained": serializers.ListField(child=serializers.IntegerField(allow_null=True)),
    "complete": serializers.IntegerField(),
}, many=True)


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
            OpenApiParameter("breakdown", {"type": "string", "pattern": r"^(channel|properties\.[^:]{1,200})$"},
                             description="Split by the channel or a property (properties.utm_source) of each "
                                         "customer's first cohort event; missing or empty reads (none)."),
            OpenApiParameter("breakdown_limit", {"type": "integer", "minimum": 1, "maximum": MAX_BREAKDOWN_LIMIT},
                             description="Values with cohorts of their own, by customers, 1–25 (10); the other "
                                         "customers in one (other) group, last."),
            WHERE_PARAMETER, *SEGMENT_PARAMETERS,
        ],
        responses=inline_serializer("Retention", {
            "period": serializers.CharField(),
            "cohorts": _COHORTS,
            "breakdown": inline_serializer("RetentionBreakdown", {"value": serializers.CharField(),
                                                                  "cohorts": _COHORTS}, many=True, required=False),
        }),
    )
    def get(self, request):
        return _compute(selectors.retention_compute, FilteredRetentionForm(request.query_params), request.user)


class GoldenTimeApi(APIView):
    """运营黄金时间: events per local weekday (0 = Monday) and hour, and the busiest slots."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[OpenApiParameter("event", str, required=True), *DATE_PARAMETERS, WHERE_PARAMETER,
                    *SEGMENT_PARAMETERS],
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
        return _compute(selectors.golden_time_compute, FilteredGoldenTimeForm(request.query_params), request.user)


_POINT = inline_serializer("TrendPoint", {
    "period": serializers.DateField(), "value": serializers.FloatField(allow_null=True),
    "complete": serializers.BooleanField(), "cut": serializers.BooleanField()}, many=True)


class TrendsApi(APIView):
    """An event's measure per day, week or month; a series per breakdown value (top N, the rest as "(other)")."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[
            OpenApiParameter("event", str, required=True),
            OpenApiParameter("measure", str, enum=["total", "unique", "sum", "avg", "median"],
                             description="total (events, default), unique (customers), or sum/avg/median of property."),
            OpenApiParameter("property", str, description="The numeric property of sum, avg and median (amount)."),
            OpenApiParameter("interval", str, enum=["day", "week", "month"], description="Default day."),
            *DATE_PARAMETERS,
            OpenApiParameter("breakdown", str, description="properties.<key> (channel: properties.channel)."),
            OpenApiParameter("breakdown_limit", {"type": "integer", "minimum": 1, "maximum": MAX_BREAKDOWN_LIMIT},
                             description="Values with a series of their own, 1–25 (10)."),
            OpenApiParameter("compare", bool, description="Add the previous range of the same length."),
            WHERE_PARAMETER, *SEGMENT_PARAMETERS,
        ],
        responses=inline_serializer("Trends", {
            "interval": serializers.CharField(), "event": serializers.CharField(),
            "measure": serializers.CharField(), "series": inline_serializer("TrendSeries", {
                "label": serializers.CharField(), "event": serializers.CharField(),
                "measure": serializers.CharField(), "breakdown_value": serializers.CharField(required=False),
                "compare": serializers.BooleanField(required=False), "points": _POINT}, many=True),
        }),
    )
    def get(self, request):
        return _compute(selectors.trends_compute, TrendsForm(request.query_params), request.user)


_ACTIVE_DAYS = inline_serializer("StickinessActiveDays", {"days": serializers.IntegerField(),
                                                          "customers": serializers.IntegerField()}, many=True,
                                 allow_null=True)


class StickinessApi(APIView):
    """粘性: daily, weekly and monthly active customers of an event per day, DAU/MAU, and how many customers were
    active on k of the last 7 and 30 days of the range."""

    role_area = Area.ANALYTICS

    @extend_schema(
        parameters=[OpenApiParameter("event", str, required=True), *DATE_PARAMETERS, WHERE_PARAMETER,
                    *SEGMENT_PARAMETERS],
        responses=inline_serializer("Stickiness", {
            "event": serializers.CharField(), "days": inline_serializer("StickinessDay", {
                "date": serializers.DateField(),
                "dau": serializers.IntegerField(allow_null=True, help_text="null for a day that has not started"),
                "wau": serializers.IntegerField(allow_null=True), "mau": serializers.IntegerField(allow_null=True),
                "dau_mau": serializers.FloatField(allow_null=True), "complete": serializers.BooleanField()},
                many=True),
            "active_days_through": serializers.DateField(allow_null=True, help_text=(
                "The last day of the active-days distributions: date_to, or yesterday when the range reaches today; "
                "null (and the distributions too) when the range starts today or later.")),
            "active_days_7": _ACTIVE_DAYS, "active_days_30": _ACTIVE_DAYS,
        }),
    )
    def get(self, request):
        return _compute(selectors.stickiness_compute, StickinessForm(request.query_params), request.user)
