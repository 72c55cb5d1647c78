"""How the ingestion endpoint knows its caller: an ``X-Ingest-Key`` header, not a staff login."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from analytics.models import IngestKey
from analytics.selectors import ingest_key_get_by_secret

HEADER = "X-Ingest-Key"


class IngestKeyAuthentication(BaseAuthentication):
    """``X-Ingest-Key: <key>`` → ``request.auth`` is the IngestKey; the user stays anonymous.

    A missing header leaves the request unauthenticated (401 through the permission below); an unknown or
    revoked key is a 401 straight away.
    """

    def authenticate(self, request):
        raw_key = request.META.get("HTTP_X_INGEST_KEY")
        if raw_key is None:
            return None
        key = ingest_key_get_by_secret(raw_key=raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed(_("Unknown ingest key."))
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This ingest key has been revoked."))
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return HEADER


class HasIngestKey(BasePermission):
    """The request carries a valid ingest key. A staff login alone is not enough (403)."""

    message = _("Ingestion needs an X-Ingest-Key header; a staff login is not enough.")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, IngestKey)


class IngestKeyRateThrottle(SimpleRateThrottle):
    """Requests per ingest key (``API_THROTTLE_INGEST``, e.g. ``6000/min``)."""

    scope = "ingest"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, IngestKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class IngestKeyScheme(OpenApiAuthenticationExtension):
    """The ingest key in the OpenAPI schema (an API key in a header)."""

    target_class = "analytics.api_auth.IngestKeyAuthentication"
    name = "IngestKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": HEADER}
