"""One error type and one error format for every 4xx answer of the API.

Format: ``{"message": str, "code": str, "errors": {field: [messages]}}``.

A dependency down for a moment (the database's connection lost, the task queue unavailable) is a 503 in the same
format with ``Retry-After``: a client can tell it from a permanent failure and send the same request again (an
ingestion batch is all-or-nothing, and its retry exact).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
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


def error_messages(error: ApplicationError) -> list[tuple[str, str]]:
    """(field, message) for each field-level message of ``error`` (a field's messages may be one text or a list)."""
    return [(field, message) for field, errors in error.errors.items()
            for message in (errors if isinstance(errors, list) else [errors])]


def form_add_errors(form, error: ApplicationError, *, message: bool = True) -> None:
    """A service's refusal on a page's form: each message under its field, or the form's own errors for a field the
    form does not have; a refusal that names no field gives its message as the form's own error (``message=False``
    when the page says it elsewhere), so it is never silent."""
    for field, text in error_messages(error):
        form.add_error(field if field in form.fields else None, text)
    if message and not error.errors:
        form.add_error(None, error.message)


def flash_errors(request, error: ApplicationError) -> None:
    """A refusal on a page without a form to hold it: the message, then each field's message not already said."""
    messages.error(request, error.message)
    for _field, message in error_messages(error):
        if message != error.message:
            messages.error(request, message)


logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30  # the task queue
DATABASE_RETRY_AFTER_SECONDS = 5  # a lost connection is replaced at the next request


class ServiceUnavailable(ApplicationError):
    """A dependency is down for a while: 503 with Retry-After (the client should try the same request again)."""

    def __init__(self, message: str, *, retry_after: int = RETRY_AFTER_SECONDS, code: str = "service_unavailable"):
        super().__init__(message, status_code=503, code=code)
        self.retry_after = retry_after


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
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A lost or refused database connection (a failover, a restart, a terminated backend): transient. The request's
        # transaction was rolled back; Django replaces the broken connection before the next request.
        logger.warning("Database unavailable during %s: %s: %s", context.get("request") and context["request"].path,
                       type(exc).__name__, exc)
        exc = ServiceUnavailable(str(_("The database is unavailable for a moment. Send the same request again.")),
                                 retry_after=DATABASE_RETRY_AFTER_SECONDS, code="database_unavailable")
    elif isinstance(exc, DjangoValidationError):
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
