"""One error type and one error format for every 4xx answer of the API.

Format: ``{"message": str, "code": str, "errors": {field: [messages]}}``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule said no. Becomes a 400 (or ``status_code``) with a message and field errors."""

    def __init__(self, message: str, *, errors: dict | None = None, status_code: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status_code = status_code
        self.code = code


def _as_field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _as_list(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": _as_list(detail)}
    return {"non_field_errors": [str(detail)]}


def _as_list(value):
    if isinstance(value, dict):
        return {key: _as_list(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_as_list(item) if isinstance(item, (dict, list)) else str(item) for item in value]
    return [str(value)]


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        return Response(
            {"message": exc.message, "code": exc.code, "errors": exc.errors}, status=exc.status_code,
            headers={"Retry-After": str(retry_after)} if retry_after else None,
        )

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "message": "The request has invalid fields; see errors.",
            "code": "invalid",
            "errors": _as_field_errors(exc.detail),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        code = exc.get_codes() if not isinstance(exc.get_codes(), (dict, list)) else exc.default_code
        response.data = {"message": message, "code": code, "errors": {}}
    return response
