"""The tracking-plan editor page: field-level errors from the same validator the JSON API uses, JSON mistakes with
their line and column, the human-readable diff against the approved version, and the reviewers' notification."""

from __future__ import annotations

import json

import pytest

from desk.selectors import todo_plan_reviews
from products.forms import PlanForm
from products.models import Notification, TrackingPlan
from products.services.notifications import notifications_mark_read
from products.services.plans import tracking_plan_review, tracking_plan_save, tracking_plan_submit
from products.tracking import plan_diff_describe
from tests.products.conftest import PLAN_EVENTS, approve_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, people):
    def as_(username: str):
        client.force_login(people[username])
        return client

    return as_


def _script(response, element_id: str):
    html = response.content.decode()
    opening = f'id="{element_id}" type="application/json">'
    start = html.index(opening) + len(opening)
    return json.loads(html[start:html.index("</script>", start)])


# JSON mistakes: the line and column, and what is wrong in words


@pytest.mark.parametrize(("text", "message"), [
    ('[\n  {"name": "signup",\n   "properties": [],\n  },\n]',
     "Not valid JSON at line 3, column 20: a comma before the closing bracket (a trailing comma): remove it."),
    ('[{"name": "a", "properties": [1, 2,]}]',
     "Not valid JSON at line 1, column 35: a comma before the closing bracket (a trailing comma): remove it."),
    ('[\n {"name" "a"}]', "Not valid JSON at line 2, column 10: a colon is missing after the name."),
    ('[{"name": "a"} {"name": "b"}]', "Not valid JSON at line 1, column 16: a comma is missing before this."),
    ('[{"name": \'a\'}]', "Not valid JSON at line 1, column 11: a value is missing here."),
    ('[]]', "Not valid JSON at line 1, column 3: there is more text after the end of the JSON."),
])
def test_json_mistakes_say_line_column_and_what(text, message):
    form = PlanForm({"events": text})

    assert not form.is_valid()
    assert form.errors["events"] == [message]


def test_trailing_comma_on_the_page_is_a_400_with_the_json_open(login, ticket):
    response = login("pm").post(f"/products/tickets/{ticket.pk}/plan/", {"events": '[{"name": "a",}]'})

    assert response.status_code == 400
    assert "Not valid JSON at line 1, column 14: a comma before the closing bracket" in response.content.decode()
    assert 'data-testid="json-error"' in response.content.decode()
    assert TrackingPlan.objects.count() == 0


# Field-level errors: the same validator as the API, named by event/property row and field


def test_invalid_fields_come_back_by_row_and_field(login, ticket):
    events = [{"name": "coupon_shown", "properties": [{"name": "Pack", "type": "text"},
                                                      {"name": "amount", "type": "number", "pattern": "[0-9]+"}]},
              {"name": "coupon_shown", "properties": []}]

    response = login("pm").post(f"/products/tickets/{ticket.pk}/plan/", {"events": json.dumps(events)})

    assert response.status_code == 400
    assert _script(response, "pe-errors") == [
        "events[0].properties[0].name: Use lower-case letters, digits and underscores, starting with a letter.",
        "events[0].properties[0].type: Choose one of: string, number, integer, boolean.",
        "events[0].properties[1].pattern: A pattern applies to string properties only.",
        "events[1].name: This event is already in the plan.",
    ]
    assert "The tracking plan has invalid fields; see errors." in response.content.decode()
    assert json.loads(response.context["form"]["events"].value()) == events  # kept as sent
    assert TrackingPlan.objects.count() == 0


def test_the_api_answers_the_same_field_errors(people, ticket, client):
    client.force_login(people["pm"])
    events = [{"name": "ok", "properties": [{"name": "Pack", "type": "text"}]}]

    response = client.post(f"/api/v1/products/tickets/{ticket.pk}/plans/", {"events": events},
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "events[0].properties[0].name": ["Use lower-case letters, digits and underscores, starting with a letter."],
        "events[0].properties[0].type": ["Choose one of: string, number, integer, boolean."]}


def test_saving_shows_the_changes_then_sending_for_review(login, people, ticket):
    approve_plan(ticket, people)
    events = json.loads(json.dumps(PLAN_EVENTS))
    events[0]["properties"][0]["allowed"] = ["small", "large", "huge"]
    events[0]["properties"].append({"name": "city", "type": "string", "required": True})
    events.append({"name": "coupon_used", "properties": [{"name": "order_id", "type": "string", "required": True}]})
    del events[1]
    client = login("pm")

    saved = client.post(f"/products/tickets/{ticket.pk}/plan/", {"events": json.dumps(events)})
    page = client.get(saved["Location"])

    assert saved.status_code == 302 and saved["Location"].endswith(f"/products/tickets/{ticket.pk}/plan/#changes")
    assert [line["text"] for line in page.context["changes"]] == [
        "New event coupon_used with 1 property: order_id",
        "Event coupon_claimed removed",
        "Event coupon_shown: new property city (string, required)",
        "Event coupon_shown: property pack changed: allowed values small, large → small, large, huge",
    ]
    assert "Draft v2 against approved v1" in page.content.decode()
    assert 'data-testid="submit-plan"' in page.content.decode()

    sent = client.post(f"/products/tickets/{ticket.pk}/plan/2/submit/")
    assert sent.status_code == 302
    assert TrackingPlan.objects.get(ticket=ticket, version=2).status == "in_review"


def test_the_editor_gets_the_plan_and_translated_labels(login, people, ticket):
    tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)

    response = login("pm").get(f"/products/tickets/{ticket.pk}/plan/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert json.loads(response.context["form"]["events"].value()) == TrackingPlan.objects.get().events
    labels = _script(response, "pe-labels")
    assert set(labels["types"]) == {"string", "number", "integer", "boolean"}
    assert "Draft v1: no approved version yet, every event is new" in response.content.decode() or \
        response.context["changes"][0]["kind"] == "added"


def test_readers_cannot_open_or_post_the_editor(login, ticket):
    for role in ("analyst", "user_ops"):
        client = login(role)
        assert client.get(f"/products/tickets/{ticket.pk}/plan/").status_code == 403
        assert client.post(f"/products/tickets/{ticket.pk}/plan/", {"events": "[]"}).status_code == 403
    assert TrackingPlan.objects.count() == 0


# The human-readable diff


def test_diff_in_sentences_names_every_kind_of_change():
    old = [{"name": "a", "description": "x", "properties": [
        {"name": "p", "type": "string", "required": True, "pattern": "[a-z]+", "description": ""},
        {"name": "q", "type": "number", "required": False, "description": ""}]},
        {"name": "gone", "properties": []}]
    new = [{"name": "a", "description": "y", "properties": [
        {"name": "p", "type": "integer", "required": False, "description": "now a number"},
        {"name": "r", "type": "boolean", "required": True, "allowed": [True], "description": ""}]},
        {"name": "fresh", "properties": []}]

    assert [(line["kind"], line["text"]) for line in plan_diff_describe(old, new)] == [
        ("added", "New event fresh with 0 properties: —"),
        ("removed", "Event gone removed"),
        ("changed", "Event a: description changed"),
        ("added", "Event a: new property r (boolean, required, one of True)"),
        ("removed", "Event a: property q removed"),
        ("changed", "Event a: property p changed: type string → integer; required → optional; pattern [a-z]+ → —; "
                    "description changed"),
    ]
    assert plan_diff_describe(new, new) == []


def test_diff_in_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        lines = plan_diff_describe([], [{"name": "signup", "properties": [{"name": "referrer", "type": "string"}]}])

    assert lines[0]["kind"] == "added"
    assert "signup" in lines[0]["text"] and "referrer" in lines[0]["text"]


# The reviewers are told


def test_submitting_notifies_whoever_reviews_plans_once(people, ticket):
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    Notification.objects.all().delete()  # "filed for you"

    tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])

    awaits = f"Tracking plan v1 of {ticket.key} awaits your review: New-user coupon pack"
    assert sorted(Notification.objects.filter(message=awaits).values_list("recipient__username", flat=True)) == [
        "admin", "analyst"]
    # The other watchers (the requester) get the plain notice; the PM who sent it gets nothing.
    assert list(Notification.objects.exclude(message=awaits).values_list("recipient__username", "message")) == [
        ("user_ops", f"Tracking plan v1 of {ticket.key} is ready for review")]
    assert [row["plan_id"] for row in todo_plan_reviews()["items"]] == [plan.pk]  # the desk still lists it


def test_a_resubmit_notifies_again_only_who_read_the_first(people, ticket):
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])
    notifications_mark_read(user=people["analyst"])
    tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["analyst"], approve=False, comment="city?")

    tracking_plan_submit(ticket_id=ticket.pk, version=1, actor=people["pm"])  # resubmitted unchanged

    awaits = f"Tracking plan v1 of {ticket.key} awaits your review: New-user coupon pack"
    assert sorted(Notification.objects.filter(message=awaits).values_list("recipient__username", flat=True)) == [
        "admin", "analyst", "analyst"]
    assert Notification.objects.filter(message=awaits, recipient=people["analyst"], read_at__isnull=True).count() == 1


def test_the_reviewer_sees_it_on_the_notifications_page_with_the_link(login, people, ticket):
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])

    page = login("analyst").get("/products/notifications/").content.decode()

    assert f'<a href="/products/tickets/{ticket.pk}/">Tracking plan v1 of {ticket.key} awaits your review' in page


def test_the_editor_shows_what_the_reviewer_asked_for(login, people, ticket):
    plan = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    tracking_plan_submit(ticket_id=ticket.pk, version=plan.version, actor=people["pm"])
    tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["analyst"], approve=False,
                         comment="amount must be an integer")

    page = login("pm").get(f"/products/tickets/{ticket.pk}/plan/").content.decode()

    assert "Changes requested by analyst: “amount must be an integer”" in page
    assert 'data-testid="submit-plan"' in page  # it can be sent again from here
