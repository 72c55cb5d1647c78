"""Ingestion in the formats tracking SDKs already speak: Segment (and RudderStack), PostHog and Sensors Data.

Each format is translated, message by message, straight into the batch API's rows: a message's fields (``event``,
``distinct_id``, ``timestamp``, ``uuid``, ``properties``) go to the same ``EventValidator`` (``row``: no intermediate
event dict, the message id's UUID parsed once), plus the identity links it carries; then the batch API's path: the
same ``events_ingest_load`` (canonical names, then ``events_load`` and its dedupe on ``uuid``), the same per-event
report (``rejected`` holds the message's position in what the SDK sent). Links are applied after the events are stored
(``identities_link``), so an ``identify`` sent in the same batch as the anonymous events it joins re-points them.

Dedupe: the SDK's message id becomes the event's ``uuid`` — as is when it is a UUID, else a UUID5 of the SDK's name
and the id (analytics.js sends ``ajs-next-…`` ids), so a retried send is stored once. Sensors Data sends no message
id: its UUID5 is of the record as sent (``_track_id`` and ``time`` make it unique; a resend is identical).

Mapping (README, "Tracking SDKs"):

- Segment ``track`` → its ``event``; ``page`` and ``screen`` → ``visit`` (``name`` kept); ``identify`` → ``identify``
  (traits as properties) and links ``anonymousId`` → ``userId``; ``alias`` → ``alias`` and links ``previousId`` with
  ``userId``; ``group`` → ``group``. ``distinct_id`` is ``userId``, else ``anonymousId``. ``context.campaign``
  becomes ``utm_source``/``utm_medium``/``utm_campaign``/``utm_term``/``utm_content`` and ``context.referrer``
  ``referrer_type``/``referrer_name``/``referrer_url`` (the event's own properties win).
- PostHog ``$pageview`` and ``$screen`` → ``visit``; ``$identify`` → ``identify`` and links
  ``$anon_distinct_id`` → ``distinct_id``; ``$create_alias`` → ``alias`` and links ``distinct_id`` with ``alias``;
  other events as they come. The key: ``api_key`` (or ``token``) in the body, or ``token`` in an event's properties.
- Sensors Data ``track`` events: ``$pageview``, ``$AppViewScreen``, ``$MPViewScreen`` → ``visit``;
  ``track_signup`` → ``identify``, linking ``original_id`` → ``distinct_id``; ``track_id_bind`` links the cookie or
  device id of ``identities`` to ``$identity_login_id``. ``profile_*`` and ``item_*`` records are counted as
  ``ignored`` (they are not events). ``$utm_*`` become ``utm_*``. The key: ``token`` in the URL.
- A ``visit`` without a ``channel`` property takes its ``utm_source`` as channel.

Bodies: at most ``MAX_BATCH_BYTES`` as received and as decompressed (gzip is read in slices and abandoned past the
limit: a zip bomb costs 5 MB, not memory), at most ``MAX_BATCH_EVENTS`` messages.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote_plus

import orjson
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import IngestKey
from analytics.selectors import ingest_key_get_by_secret
from analytics.services.identity import Link, identities_link
from analytics.services.ingest import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    EventValidator,
    batch_too_large_error,
    events_ingest_load,
)
from analytics.services.keys import ingest_key_touch
from analytics.services.loading import EventRow
from ops_platform.core.exceptions import ApplicationError

logger = logging.getLogger("analytics.ingest")
SDK_NAMESPACE = uuid.UUID("6d1c3f7e-2b1a-5c4e-9a0f-3e8b7d6c5a41")
VISIT = "visit"
UTM_FIELDS = ("source", "medium", "campaign", "term", "content")
Errors = dict[str, list[str]]


@dataclass
class Translated:
    """What a body says, validated on the way: rows for the loader, rejections (with the message's position in the
    body), the identity links of the messages that were accepted, records ignored.

    Each translator reads a message's fields once and hands them straight to the batch API's validator
    (``EventValidator.row``): no second event dict per message, and the message id's UUID is not parsed twice."""

    validator: EventValidator
    rows: list[EventRow] = field(default_factory=list)
    rejected: list[tuple[int, Errors]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    ignored: int = 0

    @classmethod
    def at(cls, now: datetime) -> Translated:
        return cls(validator=EventValidator(now=now))

    def objects(self, messages: list, not_object: str):
        """The messages that are JSON objects, with their positions; the others are rejected."""
        for index, message in enumerate(messages):
            if type(message) is dict:
                yield index, message
            else:
                self.rejected.append((index, {"non_field_errors": [not_object]}))

    def reject(self, index: int, errors: Errors) -> None:
        self.rejected.append((index, errors))

    def add(self, index: int, event, distinct_id, timestamp, event_uuid, properties, links: list[Link] | None = None):
        """Validate one event; its links are kept only when it is accepted (a refused message is reported)."""
        row, errors = self.validator.row(event, distinct_id, timestamp, event_uuid, properties)
        if errors is not None:
            self.rejected.append((index, errors))
            return
        self.rows.append(row)
        if links:
            self.links.extend(links)


@dataclass(frozen=True)
class SdkResult:
    accepted: int
    duplicates: int
    rejected: list[dict]
    ignored: int = 0
    linked: int = 0
    links_refused: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
                "ignored": self.ignored, "linked": self.linked, "links_refused": self.links_refused}


# Bodies


def _too_large() -> ApplicationError:
    return batch_too_large_error()


def _malformed(message: str, detail: str = "") -> ApplicationError:
    return ApplicationError(message, errors={"body": [detail or message]}, code="parse_error")


def gunzip_capped(data: bytes, limit: int = MAX_BATCH_BYTES) -> bytes:
    """Decompress gzip (or zlib) ``data``, refusing (413) past ``limit`` bytes of output without producing them."""
    decompressor = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise _malformed(_("The body could not be decompressed."), str(exc)) from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise _too_large()
    return out


def _b64decode(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    text = text.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(_("The body is not valid base64.")) from None


def json_load(data: bytes):
    if len(data) > MAX_BATCH_BYTES:
        raise _too_large()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ApplicationError(_("The body is not valid JSON."), errors={"body": [str(exc)]},
                               code="parse_error") from None


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _malformed(_("The body is not valid form data.")) from None
    return {name: values[0] for name, values in fields.items()}


def _unwrap(data: bytes) -> bytes:
    """Decompress a gzip payload (magic bytes) and undo a URL encoding of JSON (``%7B…``)."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip_capped(data)
    if data[:3] in (b"%7B", b"%5B", b"%7b", b"%5b"):
        data = unquote_plus(data.decode("utf-8", "replace")).encode()
    return data


def posthog_body_decode(body: bytes, *, content_encoding: str = "", compression: str = "",
                        content_type: str = ""):
    """A PostHog body as JSON: plain, gzip (``Content-Encoding: gzip`` or ``?compression=gzip-js``), base64
    (``?compression=base64``, a ``data=`` form field as posthog-js sends it)."""
    if "gzip" in content_encoding.lower() or compression in ("gzip", "gzip-js") or body[:2] == b"\x1f\x8b":
        body = gunzip_capped(body)
    elif compression == "lz64":
        raise _malformed(_("LZ64 compression is not supported; use gzip or base64."))
    if "form-urlencoded" in content_type or body[:5] == b"data=":
        fields = _form(body)
        if "data" not in fields:
            raise ApplicationError(_("The form has no data field."), errors={"data": [_("This field is required.")]})
        body = _unwrap(_b64decode(fields["data"]))
    elif compression == "base64":
        body = _unwrap(_b64decode(body))
    return json_load(body)


def sensors_body_decode(body: bytes, *, query: dict[str, str], content_encoding: str = "") -> list:
    """Sensors Data records: ``data_list`` (a list) or ``data`` (one record or a list), base64 and, with
    ``gzip=1``, gzip inside; in a form body or the query string (the JavaScript SDK's image requests)."""
    if "gzip" in content_encoding.lower():
        body = gunzip_capped(body)
    fields = dict(query)
    if body:
        if body[:1] in (b"{", b"["):
            data = json_load(body)
            return data if type(data) is list else [data]
        fields.update(_form(body))
    raw = fields.get("data_list") or fields.get("data")
    if raw is None:
        raise ApplicationError(_("Send the records in data_list or data."),
                               errors={"data_list": [_("This field is required.")]})
    decoded = _b64decode(raw)
    if fields.get("gzip") == "1" or decoded[:2] == b"\x1f\x8b":
        decoded = gunzip_capped(decoded)
    data = json_load(_unwrap(decoded))
    return data if type(data) is list else [data]


# Keys


def ingest_key_from_secret(raw_key) -> IngestKey:
    """The active ingest key sent in a body or a URL, or a 401."""
    if type(raw_key) is not str or not raw_key.strip():
        raise ApplicationError(_("Send an ingest key."), status_code=401, code="not_authenticated")
    key = ingest_key_get_by_secret(raw_key=raw_key.strip())
    if key is None:
        raise ApplicationError(_("Unknown ingest key."), status_code=401, code="authentication_failed")
    if key.revoked_at is not None:
        raise ApplicationError(_("This ingest key has been revoked."), status_code=401, code="authentication_failed")
    return key


# Translation helpers


def _text_id(value) -> str | None:
    """An id as text: SDKs send numbers too. None when missing or empty."""
    if value is None or value == "":
        return None
    if type(value) in (int, float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value if type(value) is str else None


def _message_uuid(sdk: str, message_id) -> uuid.UUID | None:
    """The event's uuid: the message id itself when it is a UUID, else a UUID5 of the SDK and the id (None: the
    validator draws one)."""
    if message_id is None or message_id == "":
        return None
    text = message_id if type(message_id) is str else str(message_id)
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid5(SDK_NAMESPACE, f"{sdk}:{text}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _with_channel(event: str, properties: dict) -> dict:
    if event == VISIT and not properties.get("channel") and properties.get("utm_source"):
        properties["channel"] = properties["utm_source"]
    return properties


def _object(value) -> dict | None:
    if value is None:
        return {}
    return value if type(value) is dict else None


class _Messages:
    def __init__(self):
        self.object = _("Must be a JSON object.")
        self.message_object = _("Each message must be a JSON object.")
        self.required = _("This field is required.")
        self.user = _("userId or anonymousId is required.")
        self.type = _("Must be one of: track, page, screen, identify, alias, group.")


# Segment


SEGMENT_TYPES = {"track", "page", "screen", "identify", "alias", "group"}


def _segment_extra(kind: str, msg: dict, context: dict) -> dict:
    """What a Segment message says outside its properties: a page's name, a group's id, the campaign (utm) and the
    referrer of its context."""
    extra: dict = {}
    if kind in ("page", "screen") and msg.get("name"):
        extra["name"] = msg.get("name")
    if kind == "group" and msg.get("groupId") is not None:
        extra["group_id"] = msg.get("groupId")
    campaign = context.get("campaign")
    if type(campaign) is dict:
        for name in UTM_FIELDS:
            value = campaign.get("name" if name == "campaign" else name)
            if value is None and name == "campaign":
                value = campaign.get("campaign")
            if value not in (None, ""):
                extra[f"utm_{name}"] = value
    referrer = context.get("referrer")
    if type(referrer) is dict:
        for name in ("type", "name", "url", "link", "id"):
            if referrer.get(name) not in (None, ""):
                extra[f"referrer_{name}"] = referrer[name]
    return extra


def segment_translate(messages: list, *, default_type: str | None = None, now: datetime) -> Translated:
    m = _Messages()
    out = Translated.at(now)
    now_iso = _iso(now)
    for index, msg in out.objects(messages, m.message_object):
        kind = msg.get("type") or msg.get("action") or default_type
        if kind not in SEGMENT_TYPES:
            out.reject(index, {"type": [m.type]})
            continue
        user_id, anonymous_id = _text_id(msg.get("userId")), _text_id(msg.get("anonymousId"))
        errors: Errors = {}
        traits = kind in ("identify", "group")
        properties = _object(msg.get("traits") if traits else msg.get("properties"))
        if properties is None:
            errors["traits" if traits else "properties"] = [m.object]
        context = _object(msg.get("context"))
        if context is None:
            errors["context"] = [m.object]
        distinct_id = user_id or anonymous_id
        previous_id = None
        if kind == "alias":
            previous_id = _text_id(msg.get("previousId"))
            if previous_id is None:
                errors["previousId"] = [m.required]
            if user_id is None:
                errors["userId"] = [m.required]
        elif distinct_id is None:
            errors["userId"] = [m.user]
        if errors:
            out.reject(index, errors)
            continue
        event = msg.get("event") if kind == "track" else VISIT if kind in ("page", "screen") else kind
        extra = None
        if kind != "track" or "campaign" in context or "referrer" in context:
            extra = _segment_extra(kind, msg, context)
        if extra:
            properties = {**extra, **properties}
        links = None
        if kind == "identify" and user_id and anonymous_id:
            links = [Link(anonymous_id=anonymous_id, known_id=user_id, index=index)]
        elif kind == "alias":
            links = [Link(anonymous_id=previous_id, known_id=user_id, index=index, kind="alias")]
        out.add(index, event, distinct_id, msg.get("timestamp") or msg.get("originalTimestamp") or now_iso,
                _message_uuid("segment", msg.get("messageId")),
                _with_channel(event if type(event) is str else "", properties), links)
    return out


# PostHog


POSTHOG_EVENTS = {"$pageview": VISIT, "$screen": VISIT, "$identify": "identify", "$create_alias": "alias"}
POSTHOG_DROPPED_KEYS = frozenset({"token", "api_key", "distinct_id"})


def posthog_key_of(data) -> str | None:
    """The project key a PostHog body carries: ``api_key``/``token`` at the top, else in the first event."""
    if type(data) is dict:
        key = data.get("api_key") or data.get("token")
        if key:
            return key
        events = data.get("batch") if type(data.get("batch")) is list else [data]
    elif type(data) is list:
        events = data
    else:
        return None
    for event in events[:1]:
        if type(event) is dict:
            properties = event.get("properties") if type(event.get("properties")) is dict else {}
            key = event.get("api_key") or event.get("token") or properties.get("token")
            if key:
                return key
    return None


def posthog_events_of(data) -> list:
    """The events of a PostHog body: ``{"batch": [...]}``, a list, or one event."""
    if type(data) is list:
        return data
    if type(data) is dict:
        if "batch" in data:
            if type(data["batch"]) is not list:
                raise ApplicationError(_('The body must be a JSON object with a "batch" list.'),
                                       errors={"batch": [_("Must be a list of events.")]})
            return data["batch"]
        if "data" in data and type(data["data"]) in (list, dict):
            inner = data["data"]
            return inner if type(inner) is list else [inner]
        return [data]
    raise ApplicationError(_("The body must be a JSON object or a list of events."),
                           errors={"body": [_("Must be a JSON object.")]})


def posthog_translate(events: list, *, now: datetime) -> Translated:
    m = _Messages()
    out = Translated.at(now)
    now_iso = _iso(now)
    for index, raw in out.objects(events, m.message_object):
        properties = _object(raw.get("properties"))
        if properties is None:
            out.reject(index, {"properties": [m.object]})
            continue
        distinct_id = _text_id(raw.get("distinct_id")) or _text_id(properties.get("distinct_id")) \
            or _text_id(raw.get("$distinct_id"))
        name = raw.get("event")
        event = POSTHOG_EVENTS.get(name, name) if type(name) is str else name
        timestamp = raw.get("timestamp")
        if timestamp is None:
            offset = raw.get("offset")
            timestamp = _iso(now - timedelta(milliseconds=offset)) if type(offset) is int and offset >= 0 else now_iso
        if not POSTHOG_DROPPED_KEYS.isdisjoint(properties):
            properties = {key: value for key, value in properties.items() if key not in POSTHOG_DROPPED_KEYS}
        links = None
        if distinct_id is not None and name == "$identify":
            anonymous_id = _text_id(properties.get("$anon_distinct_id"))
            if anonymous_id:
                links = [Link(anonymous_id=anonymous_id, known_id=distinct_id, index=index)]
        elif distinct_id is not None and name == "$create_alias":
            alias = _text_id(properties.get("alias"))
            if alias:
                links = [Link(anonymous_id=distinct_id, known_id=alias, index=index, kind="alias")]
        out.add(index, event, distinct_id if distinct_id is not None else raw.get("distinct_id"), timestamp,
                _message_uuid("posthog", raw.get("uuid")), _with_channel(event if type(event) is str else "",
                                                                         properties), links)
    return out


# Sensors Data


SENSORS_VISITS = {"$pageview", "$AppViewScreen", "$MPViewScreen", "$WebPageView"}
LOGIN_IDENTITY = "$identity_login_id"


def sensors_translate(records: list, *, now: datetime | None = None) -> Translated:
    m = _Messages()
    out = Translated.at(now or timezone.now())
    for index, record in out.objects(records, m.message_object):
        kind = record.get("type")
        if type(kind) is str and kind.startswith(("profile_", "item_")):
            out.ignored += 1
            continue
        if kind not in ("track", "track_signup", "track_id_bind"):
            out.reject(index, {"type": [_("Must be track, track_signup, track_id_bind, profile_… or item_….")]})
            continue
        properties = _object(record.get("properties"))
        if properties is None:
            out.reject(index, {"properties": [m.object]})
            continue
        identities = record.get("identities") if type(record.get("identities")) is dict else {}
        distinct_id = _text_id(record.get("distinct_id"))
        if kind == "track_id_bind" and _text_id(identities.get(LOGIN_IDENTITY)):
            distinct_id = _text_id(identities.get(LOGIN_IDENTITY))
        moment = record.get("time")
        timestamp = moment
        if type(moment) in (int, float):
            try:
                timestamp = _iso(datetime.fromtimestamp(moment / 1000, tz=UTC))
            except (OverflowError, OSError, ValueError):
                timestamp = "out of range"
        elif moment is None:
            timestamp = None
        name = record.get("event")
        if kind == "track_signup":
            event = "identify"
        elif kind == "track_id_bind":
            event = "alias"
        else:
            event = VISIT if name in SENSORS_VISITS else name
        renamed = {}
        for key, value in properties.items():
            if key.startswith("$utm_"):
                renamed.setdefault(key[1:], value)
            renamed[key] = value
        track_id = record.get("_track_id")
        digest = orjson.dumps(record, option=orjson.OPT_SORT_KEYS) if track_id is None else \
            f"{distinct_id}|{name}|{moment}|{track_id}".encode()
        links = []
        if distinct_id is not None and kind == "track_signup":
            original = _text_id(record.get("original_id"))
            if original:
                links.append(Link(anonymous_id=original, known_id=distinct_id, index=index))
        elif distinct_id is not None and kind == "track_id_bind":
            for identity, value in identities.items():
                other = _text_id(value)
                if identity != LOGIN_IDENTITY and other and other != distinct_id:
                    links.append(Link(anonymous_id=other, known_id=distinct_id, index=index))
        out.add(index, event, distinct_id, timestamp,
                uuid.uuid5(SDK_NAMESPACE, "sensors:" + digest.decode("utf-8", "replace")),
                _with_channel(event if type(event) is str else "", renamed), links)
    return out


# The one path down


def sdk_ingest(*, key: IngestKey, translated: Translated, messages: int) -> SdkResult:
    """Store translated rows (the batch API's loader, through ``events_ingest_load``), then apply their links."""
    if messages > MAX_BATCH_EVENTS:
        raise _too_large()
    ingest_key_touch(key=key, now=translated.validator.now)
    rows, rejected = translated.rows, translated.rejected
    loaded = events_ingest_load(rows) if rows else None
    if rejected:
        # SDKs send batches in the background and read only the status: the report is also logged, per key.
        first = min(rejected, key=lambda r: r[0])
        logger.warning("ingest key %s: %d of %d messages rejected, first at index %d: %s", key.prefix, len(rejected),
                       messages, first[0], first[1])
    linked = identities_link(translated.links) if translated.links else None
    return SdkResult(
        accepted=loaded.inserted if loaded else 0,
        duplicates=loaded.duplicates if loaded else 0,
        rejected=[{"index": index, "errors": errors} for index, errors in sorted(rejected, key=lambda r: r[0])],
        ignored=translated.ignored,
        linked=(linked.merged + linked.already) if linked else 0,
        links_refused=[{"index": link.index, "anonymous_id": link.anonymous_id, "known_id": link.known_id,
                        "reason": _("Both ids already belong to different known customers.")}
                       for link in (linked.refused if linked else [])],
    )
