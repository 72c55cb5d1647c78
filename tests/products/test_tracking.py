"""Tracking plans (打點): validation, review by role, versions and their diff, JSON Schema, and the checker on
crafted events (each violation type, coverage, unexpected events; bad events stay stored)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Event
from analytics.services.loading import events_load
from analytics.services.tracking_checks import tracking_check
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from products.models import Ticket, TrackingCheck, TrackingPlan
from products.services.plans import (
    local_range,
    tracking_check_run,
    tracking_plan_review,
    tracking_plan_save,
    tracking_plan_submit,
)
from products.tracking import plan_diff, plan_events_clean, plan_json_schema
from tests.factories import event_row, local_time
from tests.products.conftest import PLAN_EVENTS, approve_plan

pytestmark = pytest.mark.django_db


def test_plan_validation_names_each_bad_field():
    with pytest.raises(ApplicationError) as error:
        plan_events_clean([
            {"name": "Bad Name", "properties": []},
            {"name": "ok", "properties": [{"name": "x", "type": "date"}, {"name": "y", "type": "string",
                                                                           "pattern": "("},
                                          {"name": "z", "type": "number", "allowed": ["a"]}]},
            {"name": "ok", "properties": []},
        ])

    assert error.value.errors == {
        "events[0].name": ["Use lower-case letters, digits and underscores, starting with a letter."],
        "events[1].properties[0].type": ["Choose one of: string, number, integer, boolean."],
        "events[1].properties[1].pattern": [
            "This pattern cannot be used: missing ): (. Patterns run in linear time (RE2 syntax): no back-references "
            "or look-arounds, at most 500 characters."],
        "events[1].properties[2].allowed": ["Allowed values must be a list of number values."],
        "events[2].name": ["This event is already in the plan."],
    }


def test_review_workflow_by_role_and_versions(people, ticket):
    with pytest.raises(ApplicationError) as error:
        tracking_plan_save(ticket_id=ticket.pk, actor=people["analyst"], events=PLAN_EVENTS)
    assert error.value.status_code == 403
    assert TrackingPlan.objects.count() == 0

    draft = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    again = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS[:1])
    assert (draft.pk, again.version, again.status) == (again.pk, 1, "draft")

    tracking_plan_submit(ticket_id=ticket.pk, version=1, actor=people["pm"])
    with pytest.raises(ApplicationError) as error:
        tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["pm"], approve=True)
    assert error.value.status_code == 403
    with pytest.raises(ApplicationError) as error:
        tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["analyst"], approve=False)
    assert error.value.errors == {"comment": ["Required when requesting changes."]}

    sent_back = tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["analyst"], approve=False,
                                     comment="amount must be required")
    assert sent_back.status == "changes_requested"
    tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS)
    tracking_plan_submit(ticket_id=ticket.pk, version=1, actor=people["pm"])
    approved = tracking_plan_review(ticket_id=ticket.pk, version=1, actor=people["analyst"], approve=True)
    assert approved.status == "approved"

    v2 = tracking_plan_save(ticket_id=ticket.pk, actor=people["pm"], events=PLAN_EVENTS[1:])
    assert (v2.version, v2.status) == (2, "draft")
    assert TrackingPlan.objects.get(ticket=ticket, version=1).status == "approved"


@pytest.mark.parametrize("role", [Role.MERCHANT_OPS, Role.USER_OPS, Role.PRODUCT_OPS, Role.ANALYST])
def test_roles_that_may_not_draft_change_nothing(people, ticket, role):
    with pytest.raises(ApplicationError) as error:
        tracking_plan_save(ticket_id=ticket.pk, actor=people[role.value], events=PLAN_EVENTS)

    assert error.value.status_code == 403
    assert TrackingPlan.objects.count() == 0


def test_diff_between_versions():
    old = plan_events_clean(PLAN_EVENTS)
    new = plan_events_clean([
        {"name": "coupon_shown", "description": "The new-user coupon pack is shown.",
         "properties": [{"name": "pack", "type": "string", "required": True, "allowed": ["small", "large", "xl"]},
                        {"name": "source", "type": "string"}]},
        {"name": "coupon_used", "properties": []},
    ])

    diff = plan_diff(old, new)

    assert diff["added_events"] == ["coupon_used"]
    assert diff["removed_events"] == ["coupon_claimed"]
    assert [(c["event"], c["added_properties"], c["removed_properties"]) for c in diff["changed_events"]] == [
        ("coupon_shown", ["source"], ["amount", "page"])]
    assert diff["changed_events"][0]["changed_properties"][0]["after"]["allowed"] == ["small", "large", "xl"]


def test_json_schema_export():
    schema = plan_json_schema(title="REQ-1 v1", events=plan_events_clean(PLAN_EVENTS))

    shown = schema["oneOf"][0]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert shown["properties"]["event"] == {"const": "coupon_shown"}
    assert shown["properties"]["properties"]["required"] == ["pack", "amount"]
    assert shown["properties"]["properties"]["properties"]["pack"] == {"type": "string", "enum": ["small", "large"]}
    assert shown["properties"]["properties"]["properties"]["page"]["pattern"] == "^(?:[a-z_]+)$"
    assert shown["properties"]["properties"]["additionalProperties"] is False


# The checker on crafted events


@pytest.fixture
def crafted():
    """Yesterday: 2 good coupon_shown, one of each violation, an unplanned event; no coupon_claimed."""
    day = timezone.localdate() - timedelta(days=1)
    rows = [
        event_row("coupon_shown", "c1", local_time(day, 9), pack="small", amount=5, page="home"),
        event_row("coupon_shown", "c2", local_time(day, 10), pack="large", amount=10.5),
        event_row("coupon_shown", "c3", local_time(day, 11), pack="small", amount=5, colour="red"),  # unexpected prop
        event_row("coupon_shown", "c4", local_time(day, 12), pack="small", amount="5"),  # wrong type
        event_row("coupon_shown", "c5", local_time(day, 13), amount=5),  # missing required
        event_row("coupon_shown", "c6", local_time(day, 14), pack="huge", amount=5, page="Home!"),  # 2 not allowed
        event_row("coupn_shown", "c7", local_time(day, 15), pack="small"),  # unexpected event
        event_row("coupon_shown", "c8", local_time(day - timedelta(days=40), 9), pack="bad"),  # outside the range
    ]
    events_load(rows)
    return day, rows


def test_checker_finds_each_violation_with_examples(crafted):
    day, rows = crafted
    start, end = local_range(day, day)

    result = tracking_check(plan_events=plan_events_clean(PLAN_EVENTS), start=start, end=end,
                            known_events={"coupon_shown", "coupon_claimed"})

    assert result["checked"] == 6
    assert result["coverage"] == [
        {"event": "coupon_shown", "seen": True, "count": 6, "first_seen": local_time(day, 9).isoformat()},
        {"event": "coupon_claimed", "seen": False, "count": 0, "first_seen": None},
    ]
    found = {(v["kind"], v["property"]): (v["count"], [e["distinct_id"] for e in v["examples"]])
             for v in result["violations"]}
    assert found == {
        ("unexpected_property", "colour"): (1, ["c3"]),
        ("wrong_type", "amount"): (1, ["c4"]),
        ("missing_required", "pack"): (1, ["c5"]),
        ("value_not_allowed", "pack"): (1, ["c6"]),
        ("value_not_allowed", "page"): (1, ["c6"]),
    }
    assert result["unexpected_events"] == [{"event": "coupn_shown", "count": 1,
                                            "first_seen": local_time(day, 15).isoformat()}]
    assert Event.objects.count() == 8  # bad events are kept


def test_checker_refuses_an_unbounded_range(crafted):
    day, _ = crafted
    start, _end = local_range(day - timedelta(days=100), day)

    with pytest.raises(ValueError, match="at most 92 days"):
        tracking_check(plan_events=[], start=start, end=_end)


def test_check_run_stores_the_result_against_the_approved_plan(people, ticket, crafted):
    day, _ = crafted
    with pytest.raises(ApplicationError) as error:
        tracking_check_run(ticket_id=ticket.pk, actor=people["analyst"], date_from=day, date_to=day)
    assert error.value.errors == {"plan": ["Approve a plan first."]}
    approve_plan(ticket, people)

    check = tracking_check_run(ticket_id=ticket.pk, actor=people["analyst"], date_from=day, date_to=day)

    assert check.plan.version == 1
    assert len(check.result["violations"]) == 5
    assert check.result["unexpected_events"] == [{"event": "coupn_shown", "count": 1,
                                                  "first_seen": local_time(day, 15).isoformat()}]


def test_nightly_task_checks_launched_tickets_with_an_approved_plan(people, ticket, crafted, celery_eager):
    from django_celery_beat.models import PeriodicTask

    from products.tasks import tracking_checks_nightly

    approve_plan(ticket, people)
    other = Ticket.objects.create(title="not launched", requester=people["pm"])
    approve_plan(other, people)
    Ticket.objects.filter(pk=ticket.pk).update(status="launched", launched_at=timezone.now() - timedelta(days=2))

    check_ids = tracking_checks_nightly.delay().get()

    assert [TrackingCheck.objects.get(pk=pk).ticket_id for pk in check_ids] == [ticket.pk]
    schedule = PeriodicTask.objects.get(name="Nightly tracking-plan checks")
    assert schedule.task == "products.tasks.tracking_checks_nightly"
