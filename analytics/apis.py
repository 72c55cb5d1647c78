from datetime import timedelta

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.models import AarrrDaily, ExportJob, MetricsRun
from analytics.selectors import aarrr_daily_list, export_job_get
from analytics.services.exports import (
    export_job_create,
    report_build,
    report_csv_lines,
    report_xlsx_bytes,
)
from analytics.tasks import metrics_backfill_queue
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Area

MAX_RANGE_DAYS = 3660
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


# Exports

XLSX_DIRECT_LIMIT = 100_000  # rows; larger workbooks are built by an export job
class EventsExportInputSerializer(DateRangeInputSerializer):
    event = serializers.CharField(required=False, max_length=200)


EXPORT_PARAMS = {"aarrr": AarrrInputSerializer, "events": EventsExportInputSerializer}  # report → its parameters


class ExportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(EXPORT_PARAMS))
    file_format = serializers.ChoiceField(choices=ExportJob.Format.choices, default=ExportJob.Format.CSV)


def export_params(kind: str, data) -> dict:
    """The report's own parameters, validated; dates as ISO strings so they can be stored on a job."""
    params = EXPORT_PARAMS[kind](data=data)
    params.is_valid(raise_exception=True)
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in params.validated_data.items()}


class ExportDownloadApi(APIView):
    """Download a report now: CSV streams row by row (any size); XLSX up to 100,000 rows, else use a job."""

    role_area = Area.ANALYTICS

    @extend_schema(parameters=[ExportInputSerializer], responses={(200, "text/csv"): bytes})
    def get(self, request):
        choice = ExportInputSerializer(data=request.query_params)
        choice.is_valid(raise_exception=True)
        kind, file_format = choice.validated_data["kind"], choice.validated_data["file_format"]
        report = report_build(kind=kind, params=export_params(kind, request.query_params))
        if file_format == ExportJob.Format.CSV:
            response = StreamingHttpResponse(report_csv_lines(report), content_type="text/csv; charset=utf-8")
        else:
            if (report.total or 0) > XLSX_DIRECT_LIMIT:
                raise ApplicationError(
                    f"This report has {report.total:,} rows, too many for a direct XLSX download. Start an export "
                    "job (POST /api/v1/analytics/exports/) and download the file when it is done, or choose CSV.",
                    errors={"file_format": ["Use an export job or CSV for more than 100,000 rows."]},
                    status_code=413, code="too_large")
            response = HttpResponse(report_xlsx_bytes(report), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{report.name}.{file_format}"'
        return response


class ExportJobOutputSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "params", "file_format", "status", "percent", "rows_done", "rows_total", "error",
                  "created_at", "finished_at", "status_url", "download_url"]

    def get_download_url(self, job) -> str | None:
        return reverse("export-file", args=[job.id]) if job.status == ExportJob.Status.DONE else None

    def get_status_url(self, job) -> str:
        return reverse("export-detail", args=[job.id])


class ExportJobCreateApi(APIView):
    """Start an export on the workers (any size); follow ``status_url`` and fetch ``download_url`` when done."""

    role_area = Area.ANALYTICS

    @extend_schema(request=inline_serializer("ExportJobCreate", {
        "kind": serializers.ChoiceField(choices=sorted(EXPORT_PARAMS)),
        "file_format": serializers.ChoiceField(choices=ExportJob.Format.choices),
        "params": serializers.DictField()}), responses={202: ExportJobOutputSerializer})
    def post(self, request):
        choice = ExportInputSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        raw = request.data.get("params", {})
        if not isinstance(raw, dict):
            raise serializers.ValidationError({"params": ["params must be an object, e.g. {\"date_from\": …}."]})
        kind = choice.validated_data["kind"]
        job = export_job_create(kind=kind, params=export_params(kind, raw),
                                file_format=choice.validated_data["file_format"], created_by=request.user)
        return Response(ExportJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportJobDetailApi(APIView):
    """An export job's status and progress (its creator, or an administrator)."""

    role_area = Area.ANALYTICS

    @extend_schema(responses=ExportJobOutputSerializer)
    def get(self, request, job_id):
        job = export_job_get(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound("No such export, or it is not yours.")
        return Response(ExportJobOutputSerializer(job).data)


class ExportJobFileApi(APIView):
    """The finished file of an export job."""

    role_area = Area.ANALYTICS

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, job_id):
        job = export_job_get(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound("No such export, or it is not yours.")
        if job.status != ExportJob.Status.DONE or not job.file:
            raise ApplicationError("The export is not finished yet; try again when its status is done.",
                                   status_code=409, code="not_ready")
        name = job.file.name.rsplit("/", 1)[-1]
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
