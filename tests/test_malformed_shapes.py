"""Malformed shapes answer 400 with the field that is wrong, never a 500.

Before 2026-12: ``{"field": ["x"]}`` in a segment rule raised ``TypeError: unhashable type`` (500), and the feedback
triage page turned ``feedback_ids=²`` (a digit to ``str.isdigit``, not to ``int``) or a 5,000-digit id into a 500.
"""

from __future__ import annotations

import pytest

from ops_platform.core.fields import id_from_text
from ops_platform.core.roles import Role
from products.models import FeedbackItem
from products.services.feedback import feedback_create
from products.services.tickets import ticket_create
from users.models import Segment

PREVIEW = "/api/v1/users/segments/preview/"


def _rules(**condition):
    return {"op": "and", "conditions": [{"field": "orders", "operator": "gte", "value": 1, **condition}]}


@pytest.mark.parametrize("rules, path", [
    (_rules(field=["x"]), "rules.conditions[0].field"),
    (_rules(field={"a": 1}), "rules.conditions[0].field"),
    (_rules(operator=["gte"]), "rules.conditions[0].operator"),
    (_rules(field="stage", operator=["in"], value=["active"]), "rules.conditions[0].operator"),
    (_rules(field="signed_up_at", operator={"x": 1}, value=3), "rules.conditions[0].operator"),
    (_rules(field="distinct_id", operator="eq", value=["a"]), "rules.conditions[0].value"),
    ({"op": ["and"], "conditions": []}, "rules.op"),
    ({"op": "and", "conditions": [{"event": "visit", "operator": ["gte"], "value": 1}]},
     "rules.conditions[0].operator"),
])
def test_segment_rules_of_the_wrong_shape_are_a_400_on_their_part(api_client_for, db, rules, path):
    preview = api_client_for(Role.USER_OPS).post(PREVIEW, {"rules": rules}, format="json")
    create = api_client_for(Role.USER_OPS).post("/api/v1/users/segments/", {"name": "x", "rules": rules},
                                                format="json")

    for response in (preview, create):
        assert response.status_code == 400, response.content
        assert path in str(response.json()["errors"]), response.json()
    assert not Segment.objects.exists()


def test_the_segment_page_refuses_a_wrong_shape_with_a_400(client_for, db):
    response = client_for(Role.USER_OPS).post("/users/segments/", {"name": "x", "rules": '{"op": "and", '
                                              '"conditions": [{"field": ["x"], "operator": "eq", "value": "a"}]}'})

    assert response.status_code == 400
    assert not Segment.objects.exists()


@pytest.fixture
def feedback(make_staff):
    pm = make_staff(Role.PM)
    ticket = ticket_create(requester=pm, title="Reorder", owner_pm=pm)
    item = feedback_create(created_by=pm, source="customer", who="c1", text="Let me reorder")
    return ticket, item


@pytest.mark.parametrize("ids", [["²"], ["1" * 5000], ["-1"], ["0"], ["1e3"], ["٣"], ["99999999999999999999"]])
def test_feedback_triage_page_refuses_odd_ids_with_a_400(client_for, feedback, ids):
    ticket, item = feedback

    response = client_for(Role.PM).post("/products/feedback/triage/", {"feedback_ids": [item.pk, *ids],
                                                                       "ticket": ticket.key})

    assert response.status_code == 400
    assert "Feedback ids are whole numbers" in response.content.decode()
    assert FeedbackItem.objects.get(pk=item.pk).ticket_id is None


@pytest.mark.parametrize("key", ["REQ-²", "REQ-" + "9" * 5000, "REQ-99999999999999999999", "REQ-0"])
def test_feedback_triage_page_refuses_odd_ticket_keys(client_for, feedback, key):
    _ticket, item = feedback

    response = client_for(Role.PM).post("/products/feedback/triage/", {"feedback_ids": [item.pk], "ticket": key})

    assert response.status_code == 400
    assert FeedbackItem.objects.get(pk=item.pk).ticket_id is None


def test_feedback_triage_page_still_attaches_good_ids(client_for, feedback):
    ticket, item = feedback

    response = client_for(Role.PM).post("/products/feedback/triage/", {"feedback_ids": [str(item.pk)],
                                                                       "ticket": ticket.key})

    assert response.status_code == 302
    assert FeedbackItem.objects.get(pk=item.pk).ticket_id == ticket.pk


@pytest.mark.parametrize("ids", [["²"], ["1" * 5000], [[1]], [{"a": 1}], "12"])
def test_feedback_triage_api_refuses_odd_ids_with_a_400(api_client_for, feedback, ids):
    ticket, item = feedback

    response = api_client_for(Role.PM).post("/api/v1/products/feedback/triage/", {
        "feedback_ids": ids, "ticket": ticket.pk}, format="json")

    assert response.status_code == 400
    assert "feedback_ids" in response.json()["errors"]


def test_id_from_text():
    assert [id_from_text(v) for v in ["12", "²", "1" * 19, "1" * 18, "0", " 1", "1.0", None, 7]] == [
        12, None, None, int("1" * 18), None, None, None, None, None]
