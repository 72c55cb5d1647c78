from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api_auth import HasIngestKey, IngestKeyAuthentication, IngestKeyRateThrottle
from analytics.models import IngestKey, MetricsRun
from analytics.selectors import ingest_key_list
from analytics.services.ingest import MAX_BATCH_BYTES, batch_too_large_error, events_batch_ingest
from analytics.services.keys import ingest_key_create, ingest_key_revoke
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
