"""POST /api/v1/events/batch/: validation per event, partial acceptance, duplicates, 400/401/403/413/429."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from analytics.api_auth import IngestKeyRateThrottle
from analytics.models import Event, IngestKey, Person
from analytics.services.ingest import MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from analytics.services.keys import ingest_key_create, ingest_key_revoke
from ops_platform.core.roles import Role
from tests.analytics.conftest import BATCH_URL
from tests.factories import events_create

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def an_event(**fields) -> dict:
    event = {"uuid": str(uuid.uuid4()), "event": "visit", "distinct_id": "c1",
             "timestamp": "2026-11-20T09:30:00+08:00", "properties": {"channel": "wechat"}}
    event.update(fields)
    return {key: value for key, value in event.items() if value is not ...}


def assert_error_format(body: dict) -> None:
    assert set(body) == {"message", "code", "errors"}
    assert isinstance(body["message"], str) and body["message"]


def stored() -> list[tuple]:
    return list(Event.objects.order_by("timestamp", "distinct_id").values_list(
        "event", "distinct_id", "timestamp", "channel", "properties"))


# Accepting events


def test_a_valid_batch_is_stored(post_batch):
    first, second = an_event(), an_event(event="signup", distinct_id="c2", timestamp="2026-11-20T01:31:00Z",
                                         properties={"referrer": "c1"})

    response = post_batch([first, second])

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert stored() == [
        ("visit", "c1", datetime(2026, 11, 20, 1, 30, tzinfo=UTC), "wechat", {"channel": "wechat"}),
        ("signup", "c2", datetime(2026, 11, 20, 1, 31, tzinfo=UTC), "", {"referrer": "c1"}),
    ]
    assert sorted(str(u) for u in Event.objects.values_list("uuid", flat=True)) == sorted(
        [first["uuid"], second["uuid"]])
    assert sorted(Person.objects.values_list("distinct_id", flat=True)) == ["c1", "c2"]


def test_uuid_and_properties_are_optional(post_batch):
    response = post_batch([an_event(uuid=..., properties=...), an_event(uuid=None, properties=None)])

    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert [row[4] for row in stored()] == [{}, {}]
    assert Event.objects.values("uuid").distinct().count() == 2


def test_unknown_fields_are_ignored(post_batch):
    response = post_batch([an_event(extra="ignored")])

    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_an_empty_batch_stores_nothing(post_batch):
    response = post_batch([])

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": []}


def test_valid_events_are_stored_when_others_are_rejected(post_batch):
    batch = [an_event(distinct_id="ok1"), an_event(timestamp="yesterday"), "not an event",
             an_event(distinct_id="ok2", event="order_paid", properties={"amount": 25})]

    response = post_batch(batch)

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": [
        {"index": 1, "errors": {"timestamp": [
            "Must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-25T10:00:00+08:00."]}},
        {"index": 2, "errors": {"non_field_errors": ["Each event must be a JSON object."]}},
    ]}
    assert sorted((row[0], row[1]) for row in stored()) == [("order_paid", "ok2"), ("visit", "ok1")]


def test_every_problem_of_an_event_is_named(post_batch):
    response = post_batch([{"uuid": "nope", "event": "", "timestamp": 5, "properties": []}])

    assert response.json()["rejected"] == [{"index": 0, "errors": {
        "event": ["Must not be blank."],
        "distinct_id": ["This field is required."],
        "timestamp": ["Must be a string."],
        "uuid": ["Must be a well-formed UUID, e.g. 0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10."],
        "properties": ["Must be a JSON object."],
    }}]
    assert Event.objects.count() == 0


# Validation, rule by rule

REQUIRED = "This field is required."
STRING = "Must be a string."
BLANK = "Must not be blank."
TOO_LONG = "Must be at most 200 characters."
NUL = "Must not contain NUL characters."
TS_FORMAT = "Must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-25T10:00:00+08:00."
TS_NAIVE = "Must include a UTC offset, e.g. +08:00 or Z."
TS_FUTURE = "Must not be more than 1 day in the future."
UUID = "Must be a well-formed UUID, e.g. 0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10."
OBJECT = "Must be a JSON object."
PROPS_SIZE = "Must be at most 16384 bytes when serialized as JSON."
PROPS_DEPTH = "Must not nest more than 5 levels deep."


def nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"inner": value}
    return value


@pytest.mark.parametrize("name", ["event", "distinct_id"])
@pytest.mark.parametrize(("value", "message"), [
    (..., REQUIRED), (None, REQUIRED), (7, STRING), (["visit"], STRING), ({"a": 1}, STRING), (True, STRING),
    ("", BLANK), ("   ", BLANK), ("x" * 201, TOO_LONG), ("vi\x00sit", NUL),
])
def test_names_must_be_short_non_blank_strings(post_batch, name, value, message):
    response = post_batch([an_event(**{name: value})])

    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": [{"index": 0, "errors": {name: [message]}}]}
    assert Event.objects.count() == 0


@pytest.mark.parametrize("name", ["event", "distinct_id"])
def test_names_of_200_characters_and_unicode_are_fine(post_batch, name):
    response = post_batch([an_event(**{name: "x" * 200}), an_event(**{name: "下单 ✓"})])

    assert response.json()["accepted"] == 2


@pytest.mark.parametrize(("value", "message"), [
    (..., REQUIRED), (None, REQUIRED), (1732530000, STRING), ("2026-11-20", TS_NAIVE),
    ("2026-11-20T09:30:00", TS_NAIVE), ("2026-11-20 09:30:00", TS_NAIVE), ("20/11/2026 09:30 +08:00", TS_FORMAT),
    ("2026-13-01T00:00:00Z", TS_FORMAT), ("", TS_FORMAT), ("9" * 100, TS_FORMAT), ("0001-01-01T00:00:00+08:00",
                                                                                 "Is out of range."),
])
def test_timestamp_must_be_iso_8601_with_an_offset(post_batch, value, message):
    response = post_batch([an_event(timestamp=value)])

    assert response.json()["rejected"] == [{"index": 0, "errors": {"timestamp": [message]}}]
    assert Event.objects.count() == 0


def test_timestamp_may_be_up_to_a_day_ahead_but_not_more(post_batch):
    now = timezone.now()
    soon = (now + timedelta(hours=23)).isoformat()
    too_far = (now + timedelta(days=1, minutes=5)).isoformat()

    response = post_batch([an_event(timestamp=soon), an_event(timestamp=too_far)])

    assert response.json() == {"accepted": 1, "duplicates": 0,
                               "rejected": [{"index": 1, "errors": {"timestamp": [TS_FUTURE]}}]}


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-20T09:30:00Z", datetime(2026, 11, 20, 9, 30, tzinfo=UTC)),
    ("2026-11-20T09:30:00.123456-05:00", datetime(2026, 11, 20, 14, 30, 0, 123456, tzinfo=UTC)),
    ("2026-11-20T09:30+08:00", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
])
def test_timestamps_are_stored_in_utc(post_batch, value, expected):
    post_batch([an_event(timestamp=value)])

    assert Event.objects.get().timestamp == expected


@pytest.mark.parametrize("value", ["not-a-uuid", 12345, "", "0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b1", ["x"], "0" * 65])
def test_uuid_must_be_well_formed(post_batch, value):
    response = post_batch([an_event(uuid=value)])

    assert response.json()["rejected"] == [{"index": 0, "errors": {"uuid": [UUID]}}]


@pytest.mark.parametrize(("value", "message"), [
    ([], OBJECT), ("{}", OBJECT), (3, OBJECT), ({"blob": "x" * 16_400}, PROPS_SIZE), (nested(6), PROPS_DEPTH),
    ({"list": [[[[[1]]]]]}, PROPS_DEPTH), ({"a": "b\x00"}, NUL), ({"a\x00": 1}, NUL), ({"a": [{"b": ["\x00"]}]}, NUL),
])
def test_properties_must_be_a_small_shallow_object(post_batch, value, message):
    response = post_batch([an_event(properties=value)])

    assert response.json()["rejected"] == [{"index": 0, "errors": {"properties": [message]}}]
    assert Event.objects.count() == 0


def test_properties_at_the_limits_are_fine(post_batch):
    just_fits = {"blob": "x" * (16_384 - len('{"blob":""}'))}
    literal_backslash = {"text": "a\\u0000b"}  # a backslash and "u0000", not a NUL

    response = post_batch([an_event(properties=nested(5)), an_event(properties=just_fits),
                           an_event(properties=literal_backslash), an_event(properties={"n": 10**30, "f": 1.5e300})])

    assert response.json() == {"accepted": 4, "duplicates": 0, "rejected": []}


# Duplicates


def test_a_uuid_repeated_in_the_batch_is_stored_once(post_batch):
    twice = an_event()

    response = post_batch([twice, an_event(), dict(twice, event="other")])

    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
    assert Event.objects.filter(uuid=twice["uuid"]).count() == 1
    assert Event.objects.get(uuid=twice["uuid"]).event == "visit"


def test_a_uuid_already_stored_is_a_duplicate(post_batch):
    first = [an_event(), an_event()]
    post_batch(first)

    response = post_batch([*first, an_event()])

    assert response.json() == {"accepted": 1, "duplicates": 2, "rejected": []}
    assert Event.objects.count() == 3


def test_events_take_their_ids_in_the_order_they_were_sent(post_batch):
    # Uuids in descending order (PostgreSQL inserts in uuid order) and one timestamp: the reports break ties between
    # same-time events by id, so the id order must be the order of the batch.
    batch = [an_event(uuid=str(uuid.UUID(int=10 - i)), distinct_id=f"c{i}") for i in range(5)]

    post_batch(batch)

    assert list(Event.objects.order_by("id").values_list("distinct_id", flat=True)) == [f"c{i}" for i in range(5)]


def test_a_retried_batch_stores_nothing_new(post_batch):
    batch = [an_event(distinct_id=f"c{i}") for i in range(10)]
    post_batch(batch)

    response = post_batch(batch)

    assert response.json() == {"accepted": 0, "duplicates": 10, "rejected": []}
    assert Event.objects.count() == 10


# Refusals of the whole body


@pytest.mark.parametrize(("body", "errors"), [
    ("", {"body"}), ("{", {"body"}), ("not json", {"body"}), ('{"batch": [1e400]}', {"body"}),
    ('{"batch": [NaN]}', {"body"}), ('"\\ud800"', {"body"}), ("[]", {"body"}), ('"batch"', {"body"}),
    ("null", {"body"}), ("{}", {"batch"}), ('{"batch": null}', {"batch"}), ('{"batch": {"event": "x"}}', {"batch"}),
    ('{"batch": "x"}', {"batch"}), ('{"events": []}', {"batch"}), ("\xff\xfe", {"body"}),
])
def test_a_body_that_is_not_an_object_with_a_batch_list_is_a_400(post_batch, body, errors):
    response = post_batch(body=body)

    assert response.status_code == 400
    assert_error_format(response.json())
    assert set(response.json()["errors"]) == errors
    assert Event.objects.count() == 0


def test_a_missing_batch_names_the_field(post_batch):
    response = post_batch(body="{}")

    assert response.json() == {"message": 'The body must be a JSON object with a "batch" list.', "code": "invalid",
                               "errors": {"batch": ["This field is required."]}}


def test_malformed_json_says_where(post_batch):
    response = post_batch(body='{"batch": [}')

    body = response.json()
    assert body["code"] == "parse_error"
    assert body["message"] == "The body is not valid JSON."
    assert "line 1 column 12" in body["errors"]["body"][0]


def test_a_batch_over_the_event_limit_is_a_413(post_batch):
    response = post_batch([an_event(uuid=...) for _ in range(MAX_BATCH_EVENTS + 1)])

    assert response.status_code == 413
    assert response.json() == {
        "message": "The batch is over the limit of 5,000 events or 5 MB; split it into smaller batches.",
        "code": "too_large", "errors": {}}
    assert Event.objects.count() == 0


def test_a_batch_of_exactly_the_event_limit_is_accepted(post_batch):
    response = post_batch([an_event(uuid=..., distinct_id=f"c{i % 50}") for i in range(MAX_BATCH_EVENTS)])

    assert response.json() == {"accepted": MAX_BATCH_EVENTS, "duplicates": 0, "rejected": []}


def test_a_body_over_the_byte_limit_is_a_413_before_it_is_parsed(post_batch):
    body = '{"batch": [' + " " * MAX_BATCH_BYTES + "]}"

    response = post_batch(body=body)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_declared_length_over_the_limit_is_a_413_without_reading(post_batch):
    response = post_batch(body='{"batch": []}', CONTENT_LENGTH=str(MAX_BATCH_BYTES + 1))

    assert response.status_code == 413


# Keys


def test_without_a_key_it_is_a_401(post_batch):
    response = post_batch([an_event()], key=None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "X-Ingest-Key"
    assert response.json() == {"message": "Authentication credentials were not provided.",
                               "code": "not_authenticated", "errors": {}}
    assert Event.objects.count() == 0


@pytest.mark.parametrize("key", ["", "ik_wrong", "x" * 500, "ik_é"])
def test_an_unknown_key_is_a_401(post_batch, key):
    response = post_batch([an_event()], key=key)

    assert response.status_code == 401
    assert response.json() == {"message": "Unknown ingest key.", "code": "authentication_failed", "errors": {}}
    assert Event.objects.count() == 0


def test_a_revoked_key_is_a_401(post_batch, ingest_key):
    ingest_key_revoke(key=ingest_key[0])

    response = post_batch([an_event()])

    assert response.status_code == 401
    assert response.json() == {"message": "This ingest key has been revoked.", "code": "authentication_failed",
                               "errors": {}}
    assert Event.objects.count() == 0


def test_a_staff_login_is_not_a_key(make_staff, ingest_key):
    client = APIClient()
    client.force_login(make_staff(Role.ADMIN))

    response = client.post(BATCH_URL, {"batch": [an_event()]}, format="json")

    assert response.status_code == 403
    assert response.json()["message"] == "Ingestion needs an X-Ingest-Key header; a staff login is not enough."
    assert Event.objects.count() == 0


def test_last_use_is_recorded_at_most_once_a_minute(post_batch, ingest_key, django_assert_num_queries):
    key = ingest_key[0]
    assert key.last_used_at is None
    post_batch([])
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None

    # key lookup only: no write for a use within the minute (an empty batch stores nothing)
    with django_assert_num_queries(1):
        post_batch([])

    key.refresh_from_db()
    assert key.last_used_at == first_use
    IngestKey.objects.filter(pk=key.pk).update(last_used_at=first_use - timedelta(minutes=2))
    post_batch([])
    key.refresh_from_db()
    assert key.last_used_at > first_use


def test_each_key_is_throttled_on_its_own(post_batch, ingest_key, monkeypatch):
    monkeypatch.setitem(IngestKeyRateThrottle.THROTTLE_RATES, "ingest", "2/min")
    assert IngestKeyRateThrottle.THROTTLE_RATES is api_settings.DEFAULT_THROTTLE_RATES
    other, other_raw = ingest_key_create(name="other")
    cache.delete(f"throttle_ingest_{other.pk}")

    answers = [post_batch([an_event()]).status_code for _ in range(3)]
    other_answer = post_batch([an_event()], key=other_raw).status_code

    assert answers == [200, 200, 429]
    assert other_answer == 200
    assert Event.objects.count() == 3
    cache.delete(f"throttle_ingest_{other.pk}")


def test_a_throttled_request_answers_in_the_error_format(post_batch, monkeypatch):
    monkeypatch.setitem(IngestKeyRateThrottle.THROTTLE_RATES, "ingest", "1/min")
    post_batch([])

    response = post_batch([an_event()])

    assert response.status_code == 429
    body = response.json()
    assert_error_format(body)
    assert body["code"] == "throttled"
    assert body["message"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0
    assert Event.objects.count() == 0


def test_events_already_stored_by_other_writers_count_as_duplicates(post_batch):
    events_create(1, uuid=uuid.UUID("0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10"))

    response = post_batch([an_event(uuid="0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10")])

    assert response.json() == {"accepted": 0, "duplicates": 1, "rejected": []}


# Fuzz: whatever the body, never a 5xx, and every event is accounted for

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
timestamps = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([UTC, timezone.get_fixed_timezone(480),
                                            timezone.get_fixed_timezone(-720)])).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30), json_values,
)
event_like = st.fixed_dictionaries({}, optional={
    "uuid": st.uuids().map(str) | st.text(max_size=40) | json_values,
    "event": st.text(max_size=210) | json_values,
    "distinct_id": st.text(max_size=210) | json_values,
    "timestamp": timestamps,
    "properties": st.dictionaries(st.text(max_size=10), json_values, max_size=5) | json_values,
})
batches = st.lists(event_like | json_values, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=batches)
def test_fuzz_batches_never_fail_and_every_event_is_counted(post_batch, batch):
    response = post_batch(body=json.dumps({"batch": batch}))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == len(batch)
    assert [item["index"] for item in body["rejected"]] == sorted({item["index"] for item in body["rejected"]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values.map(json.dumps), st.binary(max_size=200), st.text(max_size=200),
                      st.dictionaries(st.text(max_size=8), json_values).map(json.dumps)))
def test_fuzz_any_body_is_answered_without_a_5xx(post_batch, body):
    response = post_batch(body=body)

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error_format(response.json())
