"""Ingestion endpoints that tracking SDKs speak (analytics/services/sdk.py): Segment, PostHog, Sensors Data.

Each authenticates by an ingest key where its SDK sends one — Segment's write key as the basic-auth user, PostHog's
``api_key`` in the body, Sensors Data's ``token`` in the URL — and answers what the SDK expects (200) with the batch
API's report added. A request of one message whose event is rejected answers 400 with the field errors, so an SDK
that sends events one by one sees the failure; batches answer 200 with ``rejected``, like the batch API.
"""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api_auth import HasIngestKey, IngestKeyRateThrottle
from analytics.apis import _read_body
from analytics.models import IngestKey
from analytics.selectors import ingest_key_get_by_secret
from analytics.services import sdk
from ops_platform.core.exceptions import ApplicationError

SdkResultSerializer = inline_serializer("SdkIngestResult", {
    "accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
    "rejected": serializers.ListField(child=serializers.DictField()), "ignored": serializers.IntegerField(),
    "linked": serializers.IntegerField(), "links_refused": serializers.ListField(child=serializers.DictField()),
})


class SegmentWriteKeyAuthentication(BaseAuthentication):
    """``Authorization: Basic base64(<ingest key>:)`` — the write key as the user, no password (Segment's scheme)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed(_("Malformed basic authentication.")) from None
        raw_key = decoded.partition(":")[0].strip()
        key = ingest_key_get_by_secret(raw_key=raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Unknown ingest key."))
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This ingest key has been revoked."))
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return 'Basic realm="ingest key as the user"'


class BodyKeyAuthentication(BaseAuthentication):
    """Marks the endpoints whose key travels in the body or the URL (checked by the view once it is decoded): a
    request without one answers 401 with this challenge."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'Key realm="ingest key in the body or the URL"'


class SegmentWriteKeyScheme(OpenApiAuthenticationExtension):
    """The Segment write key in the OpenAPI schema: HTTP basic, the ingest key as the user."""

    target_class = "analytics.sdk_apis.SegmentWriteKeyAuthentication"
    name = "SegmentWriteKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic", "description": "The ingest key as the user, no password."}


class BodyKeyScheme(OpenApiAuthenticationExtension):
    """PostHog's and Sensors Data's key travels in the body or the URL: no header scheme to declare."""

    target_class = "analytics.sdk_apis.BodyKeyAuthentication"
    name = "IngestKeyInBody"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "token",
                "description": "The ingest key as `api_key`/`token` in the body, or `token` in the URL."}


class NoStaffLogin(BasePermission):
    """A staff login is not an ingest key (403); anyone else goes on to the key in the body."""

    message = _("Ingestion needs an ingest key; a staff login is not enough.")

    def has_permission(self, request, view) -> bool:
        return not (request.user and request.user.is_authenticated)


def _answer(result: sdk.SdkResult, *, single: bool, extra: dict) -> Response:
    if single and result.rejected:
        raise ApplicationError(_("The event was rejected."), errors=result.rejected[0]["errors"])
    return Response({**extra, **result.as_dict()})


class WriteKeyOrBody(BasePermission):
    """A write key in the header, or none at all (analytics.js puts ``writeKey`` in the body, checked by the view); a
    staff login is not a key (403)."""

    message = HasIngestKey.message

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, IngestKey) or not (request.user and request.user.is_authenticated)


class SegmentIngestApi(APIView):
    """Segment's HTTP tracking API (``/v1/batch``, ``/v1/track``, …) as Segment's and RudderStack's SDKs send it:
    the write key as the basic-auth user, or ``writeKey`` in the body (analytics.js)."""

    authentication_classes = [SegmentWriteKeyAuthentication, SessionAuthentication]
    permission_classes = [WriteKeyOrBody]
    throttle_classes = [IngestKeyRateThrottle]
    renderer_classes = [JSONRenderer]
    message_type: str | None = None  # None: /v1/batch

    @extend_schema(request=inline_serializer("SegmentBatch", {"batch": serializers.ListField(
        child=serializers.DictField())}), responses=SdkResultSerializer)
    def post(self, request):
        body = _read_body(request)
        if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            body = sdk.gunzip_capped(body)
        data = sdk.json_load(body)
        key = request.auth if isinstance(request.auth, IngestKey) else \
            _body_key(self, request, data.get("writeKey") if type(data) is dict else None)
        if type(data) is not dict:
            raise ApplicationError(_("The body must be a JSON object."), errors={"body": [_("Must be a JSON object.")]})
        if self.message_type is None:
            messages = data.get("batch")
            if type(messages) is not list:
                message = _("This field is required.") if messages is None else _("Must be a list of events.")
                raise ApplicationError(_('The body must be a JSON object with a "batch" list.'),
                                       errors={"batch": [message]})
            # Fields of the batch apply to its messages (context, integrations) unless they have their own.
            context = data.get("context") if type(data.get("context")) is dict else None
            if context:
                messages = [{"context": context, **msg} if type(msg) is dict else msg for msg in messages]
        else:
            messages = [data]
        translated = sdk.segment_translate(messages, default_type=self.message_type, now=timezone.now())
        result = sdk.sdk_ingest(key=key, translated=translated, messages=len(messages))
        return _answer(result, single=self.message_type is not None, extra={"success": True})


def _key_or_401(raw_key) -> IngestKey:
    try:
        return sdk.ingest_key_from_secret(raw_key)
    except ApplicationError as exc:
        raise exceptions.AuthenticationFailed(exc.message) from None


def _body_key(view: APIView, request, raw_key) -> IngestKey:
    """The key found in the body or the URL becomes the request's, then its throttle applies (``API_THROTTLE_INGEST``
    per key, as for a key in a header: DRF checked throttles before the body was read, when there was no key)."""
    key = _key_or_401(raw_key)
    request.auth = key
    view.check_throttles(request)
    return key


class _BodyKeyApi(APIView):
    authentication_classes = [BodyKeyAuthentication, SessionAuthentication]
    permission_classes = [NoStaffLogin]
    throttle_classes = [IngestKeyRateThrottle]  # per key, once the key is read (``_body_key``)
    renderer_classes = [JSONRenderer]


class PostHogIngestApi(_BodyKeyApi):
    """PostHog's capture API (``/batch/``, ``/capture/``, ``/e/``, ``/i/v0/e/``): JSON, gzip or base64 bodies, the
    project key as ``api_key`` in the body."""

    @extend_schema(request=inline_serializer("PostHogBatch", {
        "api_key": serializers.CharField(), "batch": serializers.ListField(child=serializers.DictField())}),
        parameters=[OpenApiParameter("compression", str, required=False, enum=["gzip", "gzip-js", "base64"])],
        responses=SdkResultSerializer)
    def post(self, request):
        body = _read_body(request)
        data = sdk.posthog_body_decode(
            body, content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            compression=request.query_params.get("compression", ""),
            content_type=request.META.get("CONTENT_TYPE", ""))
        key = _body_key(self, request, sdk.posthog_key_of(data))
        events = sdk.posthog_events_of(data)
        translated = sdk.posthog_translate(events, now=timezone.now())
        result = sdk.sdk_ingest(key=key, translated=translated, messages=len(events))
        single = type(data) is dict and "batch" not in data and "data" not in data
        return _answer(result, single=single, extra={"status": 1})


class SensorsIngestApi(_BodyKeyApi):
    """Sensors Data's collection endpoint (``/sa``, ``/sa.gif``): ``data_list`` or ``data``, base64 with optional
    gzip, in a form body or the query string; the ingest key as ``token`` in the URL."""

    @extend_schema(parameters=[OpenApiParameter("token", str, required=True)], request=None,
                   responses=SdkResultSerializer)
    def post(self, request):
        return self._ingest(request, _read_body(request))

    @extend_schema(parameters=[OpenApiParameter("token", str, required=True),
                               OpenApiParameter("data", str, required=True)], responses=SdkResultSerializer)
    def get(self, request):
        return self._ingest(request, b"")

    def _ingest(self, request, body: bytes) -> Response:
        key = _body_key(self, request, request.query_params.get("token"))
        query = {name: request.query_params.get(name) for name in ("data", "data_list", "gzip")
                 if request.query_params.get(name) is not None}
        records = sdk.sensors_body_decode(body, query=query,
                                          content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""))
        translated = sdk.sensors_translate(records, now=timezone.now())
        result = sdk.sdk_ingest(key=key, translated=translated, messages=len(records))
        return _answer(result, single=False, extra={})
