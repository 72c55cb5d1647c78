"""Canonical names (analytics/services/naming.py): mappings applied at ingestion through every path, their rules
(4xx with field errors), the preview's figures against a brute-force count, the API and the page."""

from __future__ import annotations

import base64
import gzip
import json
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import Event, NameMapping
from analytics.services import naming
from analytics.services.loading import events_load
from analytics.services.naming import Draft
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.factories import event_row

API = "/api/v1/analytics/name-mappings/"
PAGE = "/analytics/event-names/"


def mapping(kind: str, source: str, target: str, scope: str = "") -> NameMapping:
    return naming.name_mapping_create(draft=Draft.of(kind=kind, source=source, target=target, scope=scope))


@pytest.fixture
def order_mappings(db):
    mapping("event", "Order Completed", "order_paid")
    mapping("event", "Signed Up", "signup")
    mapping("property", "revenue", "amount", "order_paid")
    mapping("property", "utm_src", "utm_source")


def stored() -> list[tuple]:
    return list(Event.objects.order_by("timestamp", "id").values_list("event", "distinct_id", "properties"))


def when(minutes: int) -> str:
    return (timezone.now() - timedelta(hours=2) + timedelta(minutes=minutes)).isoformat()


# Applied at ingestion, through every path


def test_batch_api_applies_the_mappings_and_stores_the_rest_as_sent(order_mappings, post_batch):
    response = post_batch([
        {"event": "Order Completed", "distinct_id": "u1", "timestamp": when(1),
         "properties": {"revenue": 30, "order_id": "o1", "utm_src": "wechat"}},
        {"event": "Cart Viewed", "distinct_id": "u1", "timestamp": when(2), "properties": {"revenue": 5}},
        {"event": "order_paid", "distinct_id": "u1", "timestamp": when(3), "properties": {"revenue": 1, "amount": 2}},
    ])

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 3
    assert stored() == [
        ("order_paid", "u1", {"amount": 30, "order_id": "o1", "utm_source": "wechat"}),
        ("Cart Viewed", "u1", {"revenue": 5}),  # unmapped name, and ``revenue`` is mapped only on order_paid
        ("order_paid", "u1", {"revenue": 1, "amount": 2}),  # its own amount is kept
    ]


def test_segment_applies_the_mappings(order_mappings, ingest_key):
    body = {"batch": [
        {"type": "track", "userId": "u2", "event": "Order Completed", "messageId": "m-1", "timestamp": when(1),
         "properties": {"revenue": 12.5, "order_id": "o2"}},
        {"type": "track", "userId": "u2", "event": "Signed Up", "messageId": "m-2", "timestamp": when(0),
         "properties": {}},
    ]}
    auth = "Basic " + base64.b64encode(f"{ingest_key[1]}:".encode()).decode()

    response = APIClient().generic("POST", "/api/v1/ingest/segment/v1/batch", data=json.dumps(body),
                                   content_type="application/json", HTTP_AUTHORIZATION=auth)

    assert response.json()["accepted"] == 2
    assert stored() == [("signup", "u2", {}), ("order_paid", "u2", {"amount": 12.5, "order_id": "o2"})]


def test_posthog_applies_the_mappings_and_resends_stay_one(order_mappings, ingest_key):
    body = {"api_key": ingest_key[1], "batch": [
        {"event": "Order Completed", "distinct_id": "u3", "timestamp": when(1),
         "uuid": "0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10", "properties": {"revenue": 8, "$lib": "posthog-python"}}]}
    client = APIClient()

    first = client.generic("POST", "/api/v1/ingest/posthog/batch/", data=gzip.compress(json.dumps(body).encode()),
                           content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    again = client.generic("POST", "/api/v1/ingest/posthog/batch/", data=json.dumps(body),
                           content_type="application/json")

    assert (first.json()["accepted"], again.json()["duplicates"]) == (1, 1)
    assert stored() == [("order_paid", "u3", {"amount": 8, "$lib": "posthog-python"})]


def test_sensors_applies_the_mappings(order_mappings, ingest_key):
    from urllib.parse import urlencode

    moment = int((timezone.now() - timedelta(hours=1)).timestamp() * 1000)
    records = [{"type": "track", "event": "Order Completed", "distinct_id": "u4", "time": moment, "_track_id": 1,
                "properties": {"revenue": 99, "$utm_source": "xiaohongshu"}}]
    data = urlencode({"data_list": base64.b64encode(json.dumps(records).encode()).decode(), "gzip": "0"})

    response = APIClient().generic("POST", f"/api/v1/ingest/sensors/sa?token={ingest_key[1]}", data=data,
                                   content_type="application/x-www-form-urlencoded")

    assert response.json()["accepted"] == 1
    assert stored() == [("order_paid", "u4", {"amount": 99, "$utm_source": "xiaohongshu",
                                               "utm_source": "xiaohongshu"})]


def test_import_events_applies_the_mappings(order_mappings, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"event": "Order Completed", "distinct_id": "u5", "timestamp": when(1),
                                "properties": {"revenue": 3}}) + "\n")

    call_command("import_events", str(path), stdout=StringIO(), stderr=StringIO())

    assert stored() == [("order_paid", "u5", {"amount": 3})]


def test_without_mappings_names_are_stored_as_sent(db, post_batch):
    post_batch([{"event": "Order Completed", "distinct_id": "u6", "timestamp": when(1),
                 "properties": {"revenue": 3}}])

    assert stored() == [("Order Completed", "u6", {"revenue": 3})]


def test_a_global_property_rule_gives_way_to_the_events_own_rule(db):
    mapping("property", "value", "amount")
    mapping("property", "value", "rating", "review")
    rows = naming.naming_current().apply([
        event_row("review", "u", timezone.now(), value=5), event_row("order_paid", "u", timezone.now(), value=9)])

    assert [(row.event, row.properties) for row in rows] == [("review", {"rating": 5}), ("order_paid", {"amount": 9})]


# Rules


def errors_of(kind: str, source, target, scope: str = "") -> dict:
    with pytest.raises(ApplicationError) as caught:
        mapping(kind, source, target, scope)
    return caught.value.errors


def test_rules_for_event_names(order_mappings):
    assert set(errors_of("event", "order_paid", "signup")) == {"source"}  # a canonical event is not renamed
    assert set(errors_of("event", "Thing Happened", "thing_happened")) == {"target"}  # unknown target
    assert set(errors_of("event", "Order Completed", "signup")) == {"source"}  # already mapped
    assert set(errors_of("event", "Checkout", "Order Completed")) == {"target"}  # a chain onto a mapped name
    assert set(errors_of("event", "Same", "Same")) == {"target"}
    assert set(errors_of("event", "", "order_paid")) == {"source"}
    assert set(errors_of("event", "X", "visit", "order_paid")) == {"scope"}
    # Two SDK names onto one canonical event: allowed (web and app name it differently).
    assert mapping("event", "Purchase", "order_paid").target == "order_paid"


def test_an_event_already_received_is_a_valid_target_and_then_no_source(db):
    events_load([event_row("coupon_claimed", "u", timezone.now())])

    mapping("event", "Coupon Claimed", "coupon_claimed")

    assert set(errors_of("event", "coupon_claimed", "visit")) == {"source"}  # it is a target now: no chain


def test_rules_for_properties(order_mappings):
    assert set(errors_of("property", "price", "amount", "order_paid")) == {"target"}  # two onto one
    assert set(errors_of("property", "revenue", "total", "order_paid")) == {"source"}  # already mapped
    assert set(errors_of("property", "total", "revenue", "order_paid")) == {"target"}  # chain
    assert set(errors_of("property", "amount", "price", "order_paid")) == {"source"}  # chain the other way
    assert set(errors_of("property", "revenue", "amount", "Order Completed")) == {"scope"}  # the SDK's name
    assert set(errors_of("property", "a", "b", "no_such_event")) == {"scope"}
    assert set(errors_of("property", "utm_source", "src")) == {"source"}  # chain on the global rules


def test_the_api_answers_field_errors(api_client_for, db):
    client = api_client_for(Role.ADMIN)

    missing = client.post(API, {"kind": "event"}, format="json")
    bad_kind = client.post(API, {"kind": "x", "source": "a", "target": "visit"}, format="json")
    canonical = client.post(API, {"kind": "event", "source": "visit", "target": "signup"}, format="json")
    created = client.post(API, {"kind": "event", "source": " Signed Up ", "target": "signup"}, format="json")

    assert missing.status_code == 400 and set(missing.json()["errors"]) == {"source", "target"}
    assert bad_kind.status_code == 400 and set(bad_kind.json()["errors"]) == {"kind"}
    assert canonical.status_code == 400 and set(canonical.json()["errors"]) == {"source"}
    assert created.status_code == 201 and created.json()["source"] == "Signed Up"
    assert client.delete(f"{API}{created.json()['id']}/").status_code == 204
    assert not NameMapping.objects.exists()


@pytest.mark.parametrize("role", [Role.ANALYST, Role.PM, Role.USER_OPS])
def test_only_administrators_reach_the_mappings(api_client_for, role):
    client = api_client_for(role)

    assert client.get(API).status_code == 403
    assert client.post(API, {"kind": "event", "source": "a", "target": "visit"}, format="json").status_code == 403


# Preview: the figures equal a brute-force count


def brute_force(draft: Draft, since, existing: list[NameMapping], events: list[Event]) -> tuple[int, int, int]:
    names = {m.source: m.target for m in existing if m.kind == "event"}
    scoped = {}
    for m in existing:
        if m.kind == "property":
            scoped.setdefault(m.scope, {})[m.source] = m.target
    changed, people, kept = 0, set(), 0
    for event in events:
        if event.timestamp < since:
            continue
        props = event.properties
        if draft.kind == "event":
            if event.event == draft.source:
                changed += 1
                people.add(event.person_id)
            continue
        final = names.get(event.event, event.event)
        if draft.scope and final != draft.scope:
            continue
        if not draft.scope and draft.source in scoped.get(final, {}):
            continue  # the event's own rule for this key wins
        if draft.source in props:
            if draft.target in props:
                kept += 1
            else:
                changed += 1
                people.add(event.person_id)
    return changed, len(people), kept


def test_preview_equals_a_brute_force_count(db):
    rng = random.Random(7)
    now = timezone.now()
    names = ["Order Completed", "order_paid", "Signed Up", "visit", "Page Viewed", "review"]
    keys = ["revenue", "amount", "value", "rating", "channel"]
    events_load([event_row(rng.choice(names), f"c{rng.randrange(40)}", now - timedelta(hours=rng.randrange(24 * 20)),
                           **{key: rng.randrange(100) for key in rng.sample(keys, rng.randrange(4))})
                 for _ in range(600)])
    mapping("event", "Order Completed", "order_paid")
    mapping("property", "value", "rating", "review")
    drafts = [Draft.of(kind="event", source="Signed Up", target="signup"),
              Draft.of(kind="event", source="Page Viewed", target="visit"),
              Draft.of(kind="property", source="revenue", target="amount", scope="order_paid"),
              Draft.of(kind="property", source="value", target="amount"),
              Draft.of(kind="property", source="channel", target="utm_source", scope="visit")]

    events = list(Event.objects.all())
    for days in (3, 7, 30):
        since = now - timedelta(days=days)
        for draft in drafts:
            preview = naming.name_mapping_preview(draft=draft, days=days)
            expected = brute_force(draft, preview["since"], [*NameMapping.objects.all(), NameMapping(
                kind=draft.kind, source=draft.source, target=draft.target, scope=draft.scope)], events)
            assert (preview["changed"], preview["people"], preview["target_kept"]) == expected, (draft, days)
            assert preview["events"] == sum(event.timestamp >= preview["since"] for event in events)
            assert preview["since"] >= since
            assert len(preview["examples"]) == min(naming.PREVIEW_EXAMPLES, preview["changed"])
            for example in preview["examples"]:
                assert example["before"] != example["after"]

    saved = list(NameMapping.objects.all())
    counts = naming.name_mappings_counts(saved, days=7, now=now)
    for m in saved:
        assert counts[m.pk] == brute_force(Draft.of(kind=m.kind, source=m.source, target=m.target, scope=m.scope),
                                           now - timedelta(days=7), saved, events)[0]


def test_preview_api_refuses_bad_input(api_client_for, db):
    client = api_client_for(Role.ADMIN)

    days = client.post(f"{API}preview/", {"kind": "event", "source": "A", "target": "visit", "days": 0},
                       format="json")
    chain = client.post(f"{API}preview/", {"kind": "event", "source": "A", "target": "A"}, format="json")
    ok = client.post(f"{API}preview/", {"kind": "event", "source": "A", "target": "visit"}, format="json")
    listed = client.get(API, {"days": "x"})

    assert days.status_code == 400 and set(days.json()["errors"]) == {"days"}
    assert chain.status_code == 400 and set(chain.json()["errors"]) == {"target"}
    assert ok.status_code == 200 and ok.json()["changed"] == 0
    assert listed.status_code == 400 and set(listed.json()["errors"]) == {"days"}


# The page


def test_page_previews_then_saves(client_for, django_assert_max_num_queries):
    client = client_for(Role.ADMIN)
    now = timezone.now()
    events_load([event_row("Order Completed", f"c{n}", now - timedelta(days=n % 10), revenue=n) for n in range(30)])
    form = {"kind": "event", "source": "Order Completed", "target": "order_paid", "scope": "", "days": "7"}

    preview = client.post(PAGE, {**form, "action": "preview"})
    saved = client.post(PAGE, {**form, "action": "save"})
    mapping("property", "revenue", "amount", "order_paid")
    with django_assert_max_num_queries(12):
        page = client.get(PAGE)
    refused = client.post(PAGE, {**form, "action": "save"})

    assert preview.status_code == 200
    assert preview.context["preview"]["changed"] == 21  # days 0–6 of 0–9, three events each
    assert b'data-testid="mapping-preview"' in preview.content
    assert saved.status_code == 302
    assert page.status_code == 200 and b"Order Completed" in page.content
    assert refused.status_code == 400 and b"already mapped" in refused.content
    assert [m.changed for m in page.context["mappings"]] == [21, 21]


def test_page_is_for_administrators(client_for):
    assert client_for(Role.ANALYST).get(PAGE).status_code == 403
