
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import report_exports
from analytics.api_auth import HasIngestKey, IngestKeyAuthentication, IngestKeyRateThrottle
from analytics.forms import AARRR_RANGE, BACKFILL_RANGE
from analytics.models import AarrrDaily, ExportJob, IngestKey, MetricsRun
from analytics.selectors import (
    aarrr_daily_list,
    aarrr_overview,
    event_names_unknown,
    export_job_get,
    ingest_key_list,
)
from analytics.services.exports import export_job_create, export_job_retry, report_build, report_require
from analytics.services.ingest import MAX_BATCH_BYTES, batch_too_large_error, events_batch_ingest
from analytics.services.keys import ingest_key_create, ingest_key_revoke
from analytics.tasks import metrics_backfill_queue
from ops_platform.core import exports as writer
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.report_files import XLSX_DIRECT_LIMIT, report_file_kinds, report_file_params
from ops_platform.core.roles import Action, Area


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
        return AARRR_RANGE.validate_attrs(attrs)


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

    def list(self, request, *args, **kwargs):
        # The serializer's output built from plain rows: a page is 100 rows of 8 fields, and field-by-field
        # serialization of model instances was half of the request's time (the schema still comes from the serializer).
        fields = AarrrDailyOutputSerializer.Meta.fields
        page = self.paginate_queryset(self.get_queryset().values_list(*fields))
        return self.get_paginated_response([_aarrr_row(dict(zip(fields, row, strict=True))) for row in page])


class AarrrOverviewApi(APIView):
    """The AARRR page's figures for a range: the five stages beside the previous range of the same length (relative
    change, null when the previous range is 0), the daily series summed over the channels (or one channel), and
    each first-touch channel's sums with its activation rate, repeat rate and revenue per new customer."""

    role_area = Area.ANALYTICS

    @extend_schema(parameters=[AarrrInputSerializer], responses=inline_serializer("AarrrOverview", {
        "date_from": serializers.DateField(), "date_to": serializers.DateField(),
        "channel": serializers.CharField(allow_null=True),
        "stages": serializers.ListField(child=serializers.DictField()),
        "series": serializers.ListField(child=serializers.DictField()),
        "channels": serializers.ListField(child=serializers.DictField())}))
    def get(self, request):
        params = AarrrInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(aarrr_overview(**params.validated_data))


def _aarrr_row(row: dict) -> dict:
    row["date"] = row["date"].isoformat()
    row["revenue"] = float(row["revenue"])  # as the serializer's DecimalField(coerce_to_string=False) renders it
    return row


class MetricsBackfillInputSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs):
        return BACKFILL_RANGE.validate_attrs(attrs)


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

class EventsExportInputSerializer(DateRangeInputSerializer):
    event = serializers.CharField(required=False, max_length=200)

    def validate(self, attrs):
        """An event name never stored is refused with the nearest known ones, as the reports refuse it (a mistyped
        ``order_payed`` would otherwise download an empty file that looks like a quiet month)."""
        attrs = super().validate(attrs)
        if attrs.get("event"):
            unknown = event_names_unknown(names=[("event", attrs["event"])])
            if unknown:
                raise serializers.ValidationError(unknown)
        return attrs


EXPORT_PARAMS = {"aarrr": AarrrInputSerializer, "events": EventsExportInputSerializer}  # report → its parameters
EXPORT_KINDS = sorted([*EXPORT_PARAMS, *report_exports.FORMS])  # the reports read by their page's form too


class ExportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EXPORT_KINDS)
    file_format = serializers.ChoiceField(choices=ExportJob.Format.choices, default=ExportJob.Format.CSV)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # every registered report (the domain apps register theirs when Django starts, after this module loads)
        self.fields["kind"].choices = report_file_kinds()


def export_params(kind: str, data, *, user=None) -> dict:
    """The report's own parameters, validated: by the report's registered check (its page's form or its API's
    serializer, as ``{name: [values]}``), else this API's serializer; dates as ISO strings to store on a job."""
    if kind not in EXPORT_PARAMS:
        return report_file_params(kind, data, user=user)
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
        report_require(user=request.user, kind=kind)
        report_query = request.query_params.copy()  # the report's parameters: all but this API's own two
        for name in ("kind", "file_format"):
            report_query.pop(name, None)
        report = report_build(kind=kind, params=export_params(kind, report_query, user=request.user))
        if file_format == ExportJob.Format.XLSX and (report.total or 0) > XLSX_DIRECT_LIMIT:
            raise ApplicationError(
                f"This report has {report.total:,} rows, too many for a direct XLSX download. Start an export "
                "job (POST /api/v1/analytics/exports/) and download the file when it is done, or choose CSV.",
                errors={"file_format": ["Use an export job or CSV for more than 100,000 rows."]},
                status_code=413, code="too_large")
        return writer.file_response(report, file_format)


class ExportJobOutputSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "params", "file_format", "language", "status", "percent", "rows_done", "rows_total",
                  "error", "created_at", "finished_at", "status_url", "download_url"]

    def get_download_url(self, job) -> str | None:
        return reverse("export-file", args=[job.id]) if job.status == ExportJob.Status.DONE else None

    def get_status_url(self, job) -> str:
        return reverse("export-detail", args=[job.id])


class ExportJobCreateSerializer(ExportInputSerializer):
    """The schema of a job's request: ``params`` are the report's own, checked by ``export_params``."""

    params = serializers.DictField(required=False, help_text="The report's parameters, as its page or API takes "
                                                             "them: {\"date_from\": \"2026-11-01\", …}.")


class ExportJobCreateApi(APIView):
    """Start an export on the workers (any size); follow ``status_url`` and fetch ``download_url`` when done."""

    role_area = Area.ANALYTICS

    @extend_schema(request=ExportJobCreateSerializer, responses={202: ExportJobOutputSerializer})
    def post(self, request):
        choice = ExportInputSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        raw = request.data.get("params", {})
        if not isinstance(raw, dict):
            raise serializers.ValidationError({"params": ["params must be an object, e.g. {\"date_from\": …}."]})
        kind = choice.validated_data["kind"]
        job = export_job_create(kind=kind, params=export_params(kind, raw, user=request.user),
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


class ExportJobRetryApi(APIView):
    """Run a failed export job again (its creator only): same parameters, same data (as of its first request)."""

    role_area = Area.ANALYTICS

    @extend_schema(request=None, responses={202: ExportJobOutputSerializer})
    def post(self, request, job_id):
        job = export_job_retry(user=request.user, job_id=job_id)
        return Response(ExportJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportJobFileApi(APIView):
    """The finished file of an export job."""

    role_area = Area.ANALYTICS

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, job_id):
        job = export_job_get(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound("No such export, or it is not yours.")
        report_require(user=request.user, kind=job.kind)  # the role may have changed since the job started
        if job.status != ExportJob.Status.DONE or not job.file:
            raise ApplicationError("The export is not finished yet; try again when its status is done.",
                                   status_code=409, code="not_ready")
        name = job.file.name.rsplit("/", 1)[-1]
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
# Ingestion


def _read_body(request) -> bytes:
    """The raw body, refusing (413) one over the limit before reading it when Content-Length says so."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BATCH_BYTES:
        raise batch_too_large_error()
    stream = request.stream
    if stream is None:
        return b""
    body = stream.read(MAX_BATCH_BYTES + 1)
    if len(body) > MAX_BATCH_BYTES:
        raise batch_too_large_error()
    return body


EventInputSerializer = inline_serializer("IngestEvent", {
    "uuid": serializers.UUIDField(required=False),
    "event": serializers.CharField(max_length=200),
    "distinct_id": serializers.CharField(max_length=200),
    "timestamp": serializers.DateTimeField(help_text="ISO 8601 with an offset, at most 1 day ahead."),
    "properties": serializers.DictField(required=False, help_text="A JSON object, at most 16 KiB, 5 levels."),
})


class EventBatchIngestApi(APIView):
    """Store a batch of events (at most 5,000 events and 5 MB). Valid events are stored even when others are
    rejected; an event whose uuid is already stored (or repeated in the batch) counts as a duplicate."""

    authentication_classes = [IngestKeyAuthentication, SessionAuthentication]
    permission_classes = [HasIngestKey]
    throttle_classes = [IngestKeyRateThrottle]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=inline_serializer("IngestBatch", {"batch": serializers.ListField(child=EventInputSerializer)}),
        responses=inline_serializer("IngestBatchResult", {
            "accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
            "rejected": serializers.ListField(child=serializers.DictField()),
        }),
    )
    def post(self, request):
        result = events_batch_ingest(key=request.auth, body=_read_body(request))
        return Response(result.as_dict())


# Ingest keys: everyone reads, administrators manage


class IngestKeyOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)
    active = serializers.SerializerMethodField()

    class Meta:
        model = IngestKey
        fields = ["id", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at", "active"]

    def get_active(self, key: IngestKey) -> bool:
        return key.revoked_at is None


class IngestKeyListApi(APIView):
    """Ingest keys (never their secrets), active ones first."""

    role_area = Area.INGEST_KEYS

    @extend_schema(responses=IngestKeyOutputSerializer(many=True))
    def get(self, request):
        return Response(IngestKeyOutputSerializer(ingest_key_list(), many=True).data)


class IngestKeyCreateApi(APIView):
    """Create a key: the answer holds its secret, once (``key``). Administrators only."""

    role_area = Area.INGEST_KEYS
    role_action = Action.CHANGE

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, label=_("name"))

    @extend_schema(request=InputSerializer, responses={201: inline_serializer("IngestKeyCreated", {
        "key": serializers.CharField(), "ingest_key": IngestKeyOutputSerializer()})})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw_key = ingest_key_create(name=serializer.validated_data["name"], created_by=request.user)
        return Response({"key": raw_key, "ingest_key": IngestKeyOutputSerializer(key).data},
                        status=status.HTTP_201_CREATED)


class IngestKeyRevokeApi(APIView):
    """Revoke a key: requests with it are refused from now on. Administrators only."""

    role_area = Area.INGEST_KEYS
    role_action = Action.CHANGE

    @extend_schema(request=None, responses=IngestKeyOutputSerializer)
    def post(self, request, pk: int):
        key = ingest_key_revoke(key=get_object_or_404(IngestKey, pk=pk))
        return Response(IngestKeyOutputSerializer(key).data)
