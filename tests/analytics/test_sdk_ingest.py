"""The tracking SDKs' endpoints (/api/v1/ingest/…): Segment, PostHog and Sensors Data payloads as their SDKs send
them, keys where each SDK puts them, dedupe of resent messages, gzip and base64 bodies, per-event errors."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from analytics.api_auth import IngestKeyRateThrottle
from analytics.models import Event, Person
from analytics.services.ingest import MAX_BATCH_BYTES
from analytics.services.keys import ingest_key_revoke
from analytics.services.sdk import SDK_NAMESPACE

SEGMENT = "/api/v1/ingest/segment/v1/"
POSTHOG = "/api/v1/ingest/posthog/"
SENSORS = "/api/v1/ingest/sensors/sa"


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def segment(ingest_key):
    client = APIClient()

    def post(kind: str, body, *, key: str | None = ingest_key[1], raw: bytes | None = None, **headers):
        if key is not None:
            headers["HTTP_AUTHORIZATION"] = basic(key)
        data = raw if raw is not None else json.dumps(body)
        return client.generic("POST", SEGMENT + kind, data=data, content_type="application/json", **headers)

    return post


@pytest.fixture
def posthog(ingest_key):
    client = APIClient()

    def post(path: str, body=None, *, raw: bytes | None = None, content_type="application/json", **headers):
        data = raw if raw is not None else json.dumps(body)
        return client.generic("POST", POSTHOG + path, data=data, content_type=content_type, **headers)

    return post


def stored() -> list[tuple]:
    return list(Event.objects.order_by("timestamp", "id").values_list("event", "distinct_id", "channel",
                                                                        "properties"))


def persons_of(*distinct_ids: str) -> set[int]:
    return set(Event.objects.filter(distinct_id__in=distinct_ids).values_list("person_id", flat=True))


# Segment: payloads as analytics.js / analytics-python / RudderStack send them


def segment_page(**fields) -> dict:
    msg = {"type": "page", "anonymousId": "anon-1", "name": "Home", "messageId": "ajs-next-1a2b",
           "timestamp": "2026-11-20T09:30:00+08:00",
           "properties": {"path": "/", "url": "https://shop.example/?utm_source=wechat"},
           "context": {"campaign": {"source": "wechat", "medium": "social", "name": "w48"},
                       "referrer": {"type": "link", "url": "https://weixin.qq.com/"}}}
    msg.update(fields)
    return msg


def test_segment_batch_maps_page_track_and_identify(segment):
    batch = [
        segment_page(),
        {"type": "identify", "userId": "u-1", "anonymousId": "anon-1", "traits": {"email": "a@example.com"},
         "messageId": "m-2", "timestamp": "2026-11-20T09:35:00+08:00"},
        {"type": "track", "userId": "u-1", "anonymousId": "anon-1", "event": "signup", "messageId": "m-3",
         "timestamp": "2026-11-20T09:36:00+08:00", "properties": {}},
    ]

    response = segment("batch", {"batch": batch, "sentAt": "2026-11-20T01:37:00Z"})

    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 3, "duplicates": 0, "rejected": [], "ignored": 0,
                               "linked": 1, "links_refused": []}
    assert stored() == [
        ("visit", "anon-1", "wechat", {"name": "Home", "path": "/", "url": "https://shop.example/?utm_source=wechat",
                                       "utm_source": "wechat", "utm_medium": "social", "utm_campaign": "w48",
                                       "referrer_type": "link", "referrer_url": "https://weixin.qq.com/",
                                       "channel": "wechat"}),
        ("identify", "u-1", "", {"email": "a@example.com"}),
        ("signup", "u-1", "", {}),
    ]
    assert len(persons_of("anon-1", "u-1")) == 1  # the anonymous visit belongs to the customer now
    assert Event.objects.get(event="visit").uuid == uuid.uuid5(SDK_NAMESPACE, "segment:ajs-next-1a2b")


def test_segment_single_message_endpoints(segment):
    assert segment("page", segment_page()).status_code == 200
    assert segment("track", {"userId": 42, "event": "order_paid", "properties": {"amount": 30},
                             "timestamp": "2026-11-20T10:00:00Z", "messageId": str(uuid.uuid4())}).status_code == 200
    assert segment("alias", {"previousId": "anon-1", "userId": "42", "timestamp": "2026-11-20T10:01:00Z"}
                   ).status_code == 200

    assert [row[:2] for row in stored()] == [("visit", "anon-1"), ("order_paid", "42"), ("alias", "42")]
    assert len(persons_of("anon-1", "42")) == 1


def test_segment_resent_batch_is_stored_once(segment):
    batch = {"batch": [segment_page(), segment_page(messageId="ajs-next-2", name="Cart")]}

    first, second = segment("batch", batch), segment("batch", batch)

    assert first.json()["accepted"] == 2
    assert (second.json()["accepted"], second.json()["duplicates"]) == (0, 2)
    assert Event.objects.count() == 2


def test_segment_gzip_body(segment):
    raw = gzip.compress(json.dumps({"batch": [segment_page()]}).encode())

    response = segment("batch", None, raw=raw, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_segment_bad_messages_are_reported_per_message(segment):
    batch = [segment_page(), "nope", {"type": "track", "event": "x", "timestamp": "2026-11-20T10:00:00Z"},
             {"type": "teleport", "userId": "u"}, segment_page(messageId="m-9", timestamp="yesterday"),
             {"type": "alias", "userId": "u"}]

    response = segment("batch", {"batch": batch})

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], sorted(r["errors"])) for r in body["rejected"]] == [
        (1, ["non_field_errors"]), (2, ["userId"]), (3, ["type"]), (4, ["timestamp"]), (5, ["previousId"])]


def test_segment_single_bad_message_is_a_400_with_field_errors(segment):
    response = segment("track", {"userId": "u-1", "timestamp": "2026-11-20T10:00:00Z"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"event": ["This field is required."]}
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [([], "body"), ({"batch": {}}, "batch"), ({}, "batch")])
def test_segment_body_not_a_batch_is_a_400(segment, body, field):
    response = segment("batch", body)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_segment_needs_the_write_key(segment, ingest_key):
    assert segment("batch", {"batch": [segment_page()]}, key=None).status_code == 401
    assert segment("batch", {"batch": [segment_page()]}, key="ik_not-a-key").status_code == 401
    ingest_key_revoke(key=ingest_key[0])
    assert segment("batch", {"batch": [segment_page()]}).status_code == 401
    assert Event.objects.count() == 0


def test_segment_staff_login_is_not_a_key(segment, make_staff):
    client = APIClient()
    client.force_login(make_staff("admin"))

    response = client.post(SEGMENT + "batch", {"batch": [segment_page()]}, format="json")

    assert response.status_code == 403
    assert Event.objects.count() == 0


def test_a_zip_bomb_is_refused_without_inflating_it(segment):
    bomb = gzip.compress(b"{" + b" " * (MAX_BATCH_BYTES * 4) + b"}")
    assert len(bomb) < 100_000

    response = segment("batch", None, raw=bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413


def test_corrupt_gzip_is_a_400(segment):
    response = segment("batch", None, raw=b"\x1f\x8bnot gzip at all", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400


# PostHog: payloads as posthog-python / posthog-js send them


def ph_event(event="$pageview", distinct_id="anon-9", **fields) -> dict:
    body = {"event": event, "distinct_id": distinct_id, "uuid": str(uuid.uuid4()),
            "timestamp": "2026-11-20T09:30:00+08:00",
            "properties": {"$current_url": "https://shop.example/", "utm_source": "douyin", "$lib": "web"}}
    body.update(fields)
    return body


def test_posthog_batch_maps_pageview_identify_and_alias(posthog, ingest_key):
    identify = ph_event("$identify", "u-7", properties={"$anon_distinct_id": "anon-9", "token": ingest_key[1]},
                        timestamp="2026-11-20T09:40:00+08:00")
    alias = ph_event("$create_alias", "u-7", properties={"alias": "device-3"}, timestamp="2026-11-20T09:41:00+08:00")
    order = ph_event("order_paid", "device-3", properties={"amount": 88}, timestamp="2026-11-20T09:50:00+08:00")

    response = posthog("batch/", {"api_key": ingest_key[1], "batch": [ph_event(), identify, alias, order],
                                  "sent_at": "2026-11-20T01:51:00Z"})

    assert response.status_code == 200
    assert response.json() == {"status": 1, "accepted": 4, "duplicates": 0, "rejected": [], "ignored": 0,
                               "linked": 2, "links_refused": []}
    assert [row[:3] for row in stored()] == [("visit", "anon-9", "douyin"), ("identify", "u-7", ""),
                                             ("alias", "u-7", ""), ("order_paid", "device-3", "")]
    assert Event.objects.get(event="identify").properties == {"$anon_distinct_id": "anon-9"}  # no key stored
    assert len(persons_of("anon-9", "u-7", "device-3")) == 1


def test_posthog_capture_single_event_with_the_key_in_properties(posthog, ingest_key):
    event = ph_event(properties={"token": ingest_key[1], "distinct_id": "anon-2"}, distinct_id=None)

    response = posthog("capture/", event)

    assert response.status_code == 200
    assert stored() == [("visit", "anon-2", "", {})]


def test_posthog_js_base64_form_body(posthog, ingest_key):
    events = [ph_event(properties={"token": ingest_key[1], "utm_source": "baidu"})]
    data = base64.b64encode(json.dumps(events).encode()).decode()

    response = posthog("e/?compression=base64", raw=f"data={data}".encode(),
                       content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert stored()[0][:3] == ("visit", "anon-9", "baidu")


def test_posthog_js_gzip_body(posthog, ingest_key):
    events = [ph_event(properties={"token": ingest_key[1]}), ph_event("add_to_cart", properties={})]
    raw = gzip.compress(json.dumps(events).encode())

    response = posthog("e/?compression=gzip-js", raw=raw, content_type="text/plain")

    assert response.status_code == 200
    assert response.json()["accepted"] == 2


def test_posthog_python_gzip_batch(posthog, ingest_key):
    raw = gzip.compress(json.dumps({"api_key": ingest_key[1], "batch": [ph_event()]}).encode())

    response = posthog("batch/", raw=raw, HTTP_CONTENT_ENCODING="gzip")

    assert response.json()["accepted"] == 1


def test_posthog_resend_is_stored_once(posthog, ingest_key):
    body = {"api_key": ingest_key[1], "batch": [ph_event(), ph_event("$pageleave")]}

    posthog("batch/", body)
    again = posthog("batch/", body)

    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)
    assert Event.objects.count() == 2


def test_posthog_non_uuid_ids_dedupe_by_uuid5(posthog, ingest_key):
    body = {"api_key": ingest_key[1], "batch": [ph_event(uuid="evt-1")]}

    posthog("batch/", body)
    posthog("batch/", body)

    assert list(Event.objects.values_list("uuid", flat=True)) == [uuid.uuid5(SDK_NAMESPACE, "posthog:evt-1")]


def test_posthog_missing_timestamp_takes_the_server_clock(posthog, ingest_key):
    posthog("capture/", {"api_key": ingest_key[1], "event": "x", "distinct_id": "d"})

    stored_at = Event.objects.get().timestamp
    assert datetime(2026, 11, 25, 2, 0, tzinfo=UTC) <= stored_at < datetime(2026, 11, 25, 2, 0, 1, tzinfo=UTC)


def test_posthog_bad_events_are_reported(posthog, ingest_key):
    batch = [ph_event(), ph_event(distinct_id=None), ph_event(event=None), ph_event(properties=[1]), 7]

    response = posthog("batch/", {"api_key": ingest_key[1], "batch": batch})

    assert response.status_code == 200
    assert [(r["index"], sorted(r["errors"])) for r in response.json()["rejected"]] == [
        (1, ["distinct_id"]), (2, ["event"]), (3, ["properties"]), (4, ["non_field_errors"])]
    assert response.json()["accepted"] == 1


def test_posthog_single_bad_event_is_a_400(posthog, ingest_key):
    response = posthog("capture/", {"api_key": ingest_key[1], "event": "x"})

    assert response.status_code == 400
    assert "distinct_id" in response.json()["errors"]


@pytest.mark.parametrize("api_key", [None, "", "phc_unknown", 12])
def test_posthog_needs_a_known_key(posthog, api_key):
    response = posthog("batch/", {"api_key": api_key, "batch": [ph_event()]})

    assert response.status_code == 401
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("raw", "query"), [(b"{not json", ""), (b"data=%%%", "?compression=base64"),
                                            (b"\x1f\x8bxx", ""), (b"abc", "?compression=lz64")])
def test_posthog_malformed_bodies_are_400(posthog, raw, query):
    response = posthog("batch/" + query, raw=raw)

    assert response.status_code == 400


# Sensors Data: records as sa-sdk-javascript / the Python SDK send them


def sa_record(**fields) -> dict:
    record = {"type": "track", "event": "$pageview", "distinct_id": "cookie-1", "time": 1763602200000,
              "_track_id": 11, "properties": {"$url": "https://shop.example/", "$utm_source": "xiaohongshu"},
              "lib": {"$lib": "js"}}
    record.update(fields)
    return record


def sensors_form(records: list, *, gzipped: bool) -> bytes:
    raw = json.dumps(records).encode()
    if gzipped:
        raw = gzip.compress(raw)
    from urllib.parse import urlencode

    return urlencode({"data_list": base64.b64encode(raw).decode(), "gzip": "1" if gzipped else "0"}).encode()


def test_sensors_data_list_gzip_with_signup(ingest_key):
    records = [sa_record(),
               sa_record(type="track_signup", event="$SignUp", distinct_id="u-5", original_id="cookie-1",
                         time=1763602300000, _track_id=12, properties={}),
               sa_record(type="profile_set", distinct_id="u-5", properties={"name": "x"}, _track_id=13)]

    response = APIClient().generic("POST", f"{SENSORS}?token={ingest_key[1]}", data=sensors_form(records, gzipped=True),
                                   content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": [], "ignored": 1, "linked": 1,
                               "links_refused": []}
    assert [row[:3] for row in stored()] == [("visit", "cookie-1", "xiaohongshu"), ("identify", "u-5", "")]
    assert Event.objects.first().timestamp == datetime(2025, 11, 20, 1, 30, tzinfo=UTC)
    assert len(persons_of("cookie-1", "u-5")) == 1


def test_sensors_image_request_and_resend(ingest_key):
    data = base64.b64encode(json.dumps(sa_record(time=1764000000000)).encode()).decode()
    client = APIClient()

    first = client.get(SENSORS + ".gif", {"token": ingest_key[1], "data": data})
    again = client.get(SENSORS + ".gif", {"token": ingest_key[1], "data": data})

    assert first.json()["accepted"] == 1
    assert again.json()["duplicates"] == 1
    assert Event.objects.count() == 1


def test_sensors_id_bind_links_cookie_to_login(ingest_key):
    record = sa_record(type="track_id_bind", event="$BindID", distinct_id="cookie-1", time=1764000000000,
                       identities={"$identity_cookie_id": "cookie-1", "$identity_login_id": "u-8"})

    APIClient().generic("POST", f"{SENSORS}?token={ingest_key[1]}",
                        data=sensors_form([sa_record(time=1763999000000), record], gzipped=False),
                        content_type="application/x-www-form-urlencoded")

    assert len(persons_of("cookie-1", "u-8")) == 1


def test_sensors_needs_the_token(ingest_key):
    response = APIClient().generic("POST", SENSORS, data=sensors_form([sa_record()], gzipped=False),
                                   content_type="application/x-www-form-urlencoded")

    assert response.status_code == 401
    assert not Person.objects.exists()


def test_sensors_bad_records_are_reported(ingest_key):
    records = [sa_record(), sa_record(type="weird"), sa_record(time="soon"), sa_record(distinct_id=None)]

    response = APIClient().generic("POST", f"{SENSORS}?token={ingest_key[1]}",
                                   data=sensors_form(records, gzipped=False),
                                   content_type="application/x-www-form-urlencoded")

    assert [(r["index"], sorted(r["errors"])) for r in response.json()["rejected"]] == [
        (1, ["type"]), (2, ["timestamp"]), (3, ["distinct_id"])]


def test_analytics_js_sends_the_write_key_in_the_body_to_one_letter_paths(segment, ingest_key):
    response = segment("p", {**segment_page(), "writeKey": ingest_key[1]}, key=None)
    batch = segment("b", {"batch": [segment_page(messageId="m-2")], "writeKey": ingest_key[1]}, key=None)

    assert (response.status_code, batch.status_code) == (200, 200)
    assert Event.objects.count() == 2
    assert segment("t", {"userId": "u", "event": "x", "writeKey": "ik_wrong"}, key=None).status_code == 401


def test_body_key_endpoints_are_throttled_per_key_not_as_anonymous(posthog, ingest_key, monkeypatch):
    monkeypatch.setitem(IngestKeyRateThrottle.THROTTLE_RATES, "ingest", "3/min")
    monkeypatch.setitem(IngestKeyRateThrottle.THROTTLE_RATES, "anon", "1/min")

    statuses = [posthog("capture/", ph_event(properties={"token": ingest_key[1]})).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
