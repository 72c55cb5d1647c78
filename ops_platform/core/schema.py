"""The OpenAPI schema says what the API answers when it says no.

Every 4xx (and the 503 of a dependency down for a moment) has one body, ``ops_platform.core.exceptions``'s error
format: ``{"message", "code", "errors"}``. This drf-spectacular post-processing hook declares it once, as the
``Error`` component, on every operation (an operation that declares a status of its own keeps it), so that a client
generated from the schema can read a refusal.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi as spectacular_openapi
from rest_framework import serializers

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal of the API: a message for people, a stable code, and field errors "
                   "({field: [messages]}; a list's items may be objects of field errors).",
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string", "description": "e.g. invalid, not_authenticated, permission_denied, not_found, "
                                                  "throttled, too_large, service_unavailable, database_unavailable"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["message", "code", "errors"],
}
ERROR_RESPONSES = {
    "400": "Invalid input: ``errors`` holds the messages by field.",
    "401": "Not authenticated (no or an unknown token, or ingest key).",
    "403": "The role does not allow it.",
    "404": "No such object, or not one the caller may see.",
    "405": "Method not allowed.",
    "409": "The object's state does not allow it now.",
    "413": "Too large (a batch over its limit, a report too big to send directly).",
    "429": "Too many requests: see Retry-After.",
    "503": "A dependency is down for a moment (database, task queue) or a report took too long: see Retry-After "
           "and send the same request again.",
}


def error_responses(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: the Error component, and every error status on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(status, {"description": description,
                                              "content": {"application/json": {"schema": reference}}})
    return result


class AutoSchema(spectacular_openapi.AutoSchema):
    """drf-spectacular's AutoSchema, declaring as nullable what can answer null.

    A read-only field given ``default=None`` (``CharField(source="acknowledged_by.username", default=None)``) answers
    null when a relation on its way is empty: the default schema called it a plain string, and clients generated from
    the schema broke on it. So does a related field over a foreign key that may be empty (``Alert.acknowledged_by``).
    """

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if isinstance(field, serializers.Field) and (field.default is None or _nullable_relation(field)):
            meta["nullable"] = True
        return meta


def _nullable_relation(field) -> bool:
    """A related field (``SlugRelatedField``, ``StringRelatedField``…) over a foreign key that may be empty."""
    if not isinstance(field, serializers.RelatedField) or not getattr(field, "source_attrs", None):
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None:
        return False
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:
        return False
    return bool(getattr(model_field, "null", False))
