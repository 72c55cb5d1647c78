"""Event ingestion: one validator for the HTTP batch endpoint and ``import_events``, then ``events_load``.

Limits (documented in the README, section "Sending events"):

- a batch holds at most ``MAX_BATCH_EVENTS`` events and ``MAX_BATCH_BYTES`` bytes of body (413 beyond);
- ``event`` and ``distinct_id``: non-blank strings of at most ``MAX_NAME_LENGTH`` characters, no NUL;
- ``timestamp``: ISO 8601 with a UTC offset (``Z`` or ``+08:00``), at most ``MAX_FUTURE`` ahead of the
  server's clock; stored in UTC;
- ``properties`` (optional): a JSON object of at most ``MAX_PROPERTIES_BYTES`` bytes serialized and
  ``MAX_PROPERTIES_DEPTH`` levels of nesting (the object itself is level 1), no NUL in keys or strings;
- ``uuid`` (optional): a well-formed UUID. Without one the server generates a random uuid4, so a retried
  batch would be stored twice: clients should send their own uuids, which make retries safe (an event
  whose uuid is already stored counts as a duplicate).

Unknown fields of an event are ignored. The validator is a plain function rather than a DRF serializer per
event: it costs a few microseconds an event, which is what lets the endpoint keep up with batches of
thousands, and its messages are field-level all the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import IngestKey
from analytics.services.keys import ingest_key_touch
from analytics.services.loading import EventRow, LoadResult, events_load
from analytics.services.naming import naming_current
from ops_platform.core.exceptions import ApplicationError

MAX_BATCH_EVENTS = 5_000
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 200
MAX_TIMESTAMP_LENGTH = 64
MAX_UUID_LENGTH = 64
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_PROPERTIES_DEPTH = 5
MAX_FUTURE = timedelta(days=1)

Errors = dict[str, list[str]]


def _messages() -> dict[str, str]:
    """The field messages, translated into the active language (built once per batch, not per event)."""
    return {
        "required": _("This field is required."),
        "string": _("Must be a string."),
        "blank": _("Must not be blank."),
        "too_long": _("Must be at most %(limit)d characters.") % {"limit": MAX_NAME_LENGTH},
        "nul": _("Must not contain NUL characters."),
        "timestamp_format": _("Must be an ISO 8601 date and time with a UTC offset, "
                              "e.g. 2026-11-25T10:00:00+08:00."),
        "timestamp_naive": _("Must include a UTC offset, e.g. +08:00 or Z."),
        "timestamp_range": _("Is out of range."),
        "timestamp_future": _("Must not be more than 1 day in the future."),
        "uuid": _("Must be a well-formed UUID, e.g. 0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10."),
        "object": _("Must be a JSON object."),
        "properties_size": _("Must be at most %(limit)d bytes when serialized as JSON.")
        % {"limit": MAX_PROPERTIES_BYTES},
        "properties_depth": _("Must not nest more than %(limit)d levels deep.") % {"limit": MAX_PROPERTIES_DEPTH},
        "event_object": _("Each event must be a JSON object."),
    }


@dataclass
class Validated:
    rows: list[EventRow] = field(default_factory=list)
    rejected: list[tuple[int, Errors]] = field(default_factory=list)  # (position in the input, errors)


class EventValidator:
    """Validates raw events (dicts as decoded from JSON) into ``EventRow``s, or field errors.

    One instance per batch or import: it fixes the clock (``now``) and the translated messages.
    """

    def __init__(self, *, now: datetime | None = None):
        self.now = now or timezone.now()
        self.latest = self.now + MAX_FUTURE
        self.m = _messages()

    def validate(self, raw) -> tuple[EventRow | None, Errors | None]:
        m = self.m
        if type(raw) is not dict:
            return None, {"non_field_errors": [m["event_object"]]}
        return self.row(raw.get("event"), raw.get("distinct_id"), raw.get("timestamp"), raw.get("uuid"),
                        raw.get("properties"))

    def row(self, event, distinct_id, timestamp, event_uuid, properties) -> tuple[EventRow | None, Errors | None]:
        """One event's fields into a row, or field errors. ``event_uuid`` may be a ``UUID`` already (the SDK paths
        derive it from the message id): then it is taken as is, not parsed again."""
        errors: Errors = {}
        problem = self._name(event)
        if problem:
            errors["event"] = [problem]
        problem = self._name(distinct_id)
        if problem:
            errors["distinct_id"] = [problem]
        timestamp, problem = self._timestamp(timestamp)
        if problem:
            errors["timestamp"] = [problem]
        if type(event_uuid) is not uuid.UUID:
            event_uuid, problem = self._uuid(event_uuid)
            if problem:
                errors["uuid"] = [problem]
        properties, problem = self._properties(properties)
        if problem:
            errors["properties"] = [problem]
        if errors:
            return None, errors
        return EventRow(uuid=event_uuid, event=event, distinct_id=distinct_id, timestamp=timestamp,
                        properties=properties), None

    def validate_many(self, items: Iterable) -> Validated:
        result = Validated()
        for index, raw in enumerate(items):
            row, errors = self.validate(raw)
            if errors is None:
                result.rows.append(row)
            else:
                result.rejected.append((index, errors))
        return result

    def _name(self, value) -> str | None:
        if value is None:
            return self.m["required"]
        if type(value) is not str:
            return self.m["string"]
        if len(value) > MAX_NAME_LENGTH:
            return self.m["too_long"]
        if not value.strip():
            return self.m["blank"]
        if "\x00" in value:
            return self.m["nul"]
        return None

    def _timestamp(self, value) -> tuple[datetime | None, str | None]:
        if value is None:
            return None, self.m["required"]
        if type(value) is not str:
            return None, self.m["string"]
        if len(value) > MAX_TIMESTAMP_LENGTH:
            return None, self.m["timestamp_format"]
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None, self.m["timestamp_format"]
        if parsed.tzinfo is None:  # fromisoformat gives a fixed offset or none
            return None, self.m["timestamp_naive"]
        try:
            parsed = parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            return None, self.m["timestamp_range"]
        if parsed > self.latest:
            return None, self.m["timestamp_future"]
        return parsed, None

    def _uuid(self, value) -> tuple[uuid.UUID | None, str | None]:
        if value is None:
            return uuid.uuid4(), None
        if type(value) is not str or len(value) > MAX_UUID_LENGTH:
            return None, self.m["uuid"]
        try:
            return uuid.UUID(value), None
        except ValueError:
            return None, self.m["uuid"]

    def _properties(self, value) -> tuple[dict | None, str | None]:
        if value is None:
            return {}, None
        if type(value) is not dict:
            return None, self.m["object"]
        if not value:
            return value, None
        try:
            serialized = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            return None, self.m["object"]
        if len(serialized) > MAX_PROPERTIES_BYTES:
            return None, self.m["properties_size"]
        # Cheap first: fewer opening brackets than the limit cannot nest deeper than it.
        if serialized.count(b"{") + serialized.count(b"[") > MAX_PROPERTIES_DEPTH and \
                _depth(value) > MAX_PROPERTIES_DEPTH:
            return None, self.m["properties_depth"]
        # PostgreSQL's jsonb refuses \u0000; the substring test is cheap, the walk confirms it.
        if b"\\u0000" in serialized and _has_nul(value):
            return None, self.m["nul"]
        return value, None


def _depth(value) -> int:
    if type(value) is dict:
        return 1 + max((_depth(inner) for inner in value.values()), default=0)
    if type(value) is list:
        return 1 + max((_depth(inner) for inner in value), default=0)
    return 0


def _has_nul(value) -> bool:
    if type(value) is str:
        return "\x00" in value
    if type(value) is dict:
        return any("\x00" in key or _has_nul(inner) for key, inner in value.items())
    if type(value) is list:
        return any(_has_nul(inner) for inner in value)
    return False


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[dict]

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def batch_too_large_error() -> ApplicationError:
    return ApplicationError(
        _("The batch is over the limit of %(events)s events or %(megabytes)d MB; split it into smaller batches.")
        % {"events": f"{MAX_BATCH_EVENTS:,}", "megabytes": MAX_BATCH_BYTES // (1024 * 1024)},
        status_code=413, code="too_large",
    )


def events_batch_parse(body: bytes) -> list:
    """The ``batch`` list of a request body, or an ApplicationError (400 malformed, 413 too large)."""
    if len(body) > MAX_BATCH_BYTES:
        raise batch_too_large_error()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApplicationError(_("The body is not valid JSON."), errors={"body": [str(exc)]},
                               code="parse_error") from None
    if type(data) is not dict:
        raise ApplicationError(_('The body must be a JSON object with a "batch" list.'),
                               errors={"body": [_("Must be a JSON object.")]})
    batch = data.get("batch")
    if type(batch) is not list:
        message = _("This field is required.") if batch is None else _("Must be a list of events.")
        raise ApplicationError(_('The body must be a JSON object with a "batch" list.'), errors={"batch": [message]})
    if len(batch) > MAX_BATCH_EVENTS:
        raise batch_too_large_error()
    return batch


def events_ingest_load(rows: list[EventRow]) -> LoadResult:
    """Store ingested rows: the canonical-name mappings applied (analytics/services/naming.py), then ``events_load``.

    The one place every ingestion path (the batch API, the tracking SDKs' endpoints, ``import_events``) loads through.
    """
    return events_load(naming_current().apply(rows))


def events_batch_ingest(*, key: IngestKey, body: bytes) -> BatchResult:
    """Validate a batch body and store its valid events (set-based, through ``events_load``)."""
    now = timezone.now()
    ingest_key_touch(key=key, now=now)
    batch = events_batch_parse(body)
    validated = EventValidator(now=now).validate_many(batch)
    loaded = events_ingest_load(validated.rows) if validated.rows else None
    return BatchResult(
        accepted=loaded.inserted if loaded else 0,
        duplicates=loaded.duplicates if loaded else 0,
        rejected=[{"index": index, "errors": errors} for index, errors in validated.rejected],
    )
