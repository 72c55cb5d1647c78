"""Each to-do source of the desk on crafted data, the team lead's view of each member's load, the query counts, and
clearing a follow-up from the desk."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from desk.selectors import desk_for, team_load, todo_for
from goals.models import Goal, Metric
from merchants.models import Merchant, MerchantContact
from ops_platform.core.roles import Role
from products.models import Ticket, TrackingPlan
from tests.factories import MerchantFactory, TicketFactory, local_time
from tests.goals.conftest import make_goal

pytestmark = pytest.mark.django_db


def _section(sections, key):
    return next(section for section in sections if section["key"] == key)


def test_follow_ups_due_today_and_overdue_on_my_merchants_only(make_staff, contact_due):
    me, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    mine, theirs = MerchantFactory(owner=me), MerchantFactory(owner=other)
    overdue = contact_due(mine, days=-3)
    today = contact_due(mine, days=0)
    contact_due(mine, days=2)  # not due yet
    contact_due(mine, days=-1, done=True)  # done
    contact_due(theirs, days=-1)  # not mine

    section = _section(todo_for(user=me), "follow_ups")

    assert section["count"] == 2
    assert [(item["contact_id"], item["overdue"]) for item in section["items"]] == [(overdue.pk, True),
                                                                                   (today.pk, False)]
    assert section["items"][0]["url"] == f"/merchants/{mine.pk}/"


def test_stale_pipeline_merchants_i_own(make_staff):
    me = make_staff(Role.MERCHANT_OPS)
    stale = MerchantFactory(owner=me, stage=Merchant.Stage.LEAD, stage_changed_at=timezone.now() - timedelta(days=30))
    MerchantFactory(owner=me, stage=Merchant.Stage.LEAD, stage_changed_at=timezone.now() - timedelta(days=2))
    MerchantFactory(owner=me, stage=Merchant.Stage.LIVE, stage_changed_at=timezone.now() - timedelta(days=300))
    MerchantFactory(owner=make_staff(Role.MERCHANT_OPS), stage=Merchant.Stage.LEAD,
                    stage_changed_at=timezone.now() - timedelta(days=30))

    section = _section(todo_for(user=me), "stale_merchants")

    assert section["count"] == 1
    assert section["items"][0]["merchant_id"] == stale.pk


def test_tickets_waiting_for_a_pm_owned_and_to_triage(make_staff):
    pm = make_staff(Role.PM)
    owned = TicketFactory(owner_pm=pm, status=Ticket.Status.DESIGNING)
    triage = TicketFactory(status=Ticket.Status.PROPOSED)
    TicketFactory(owner_pm=pm, status=Ticket.Status.CONCLUDED)  # closed
    TicketFactory(status=Ticket.Status.LAUNCHED)  # the analysts' move

    section = _section(todo_for(user=pm), "tickets")

    assert {(item["ticket_id"], item["reason"]) for item in section["items"]} == {(owned.pk, "owner"),
                                                                                  (triage.pk, "triage")}


def test_tickets_waiting_for_an_analyst_and_an_assignee(make_staff):
    analyst, operator = make_staff(Role.ANALYST), make_staff(Role.MERCHANT_OPS)
    launched = TicketFactory(status=Ticket.Status.LAUNCHED)
    analysing = TicketFactory(status=Ticket.Status.ANALYSING)
    assigned = TicketFactory(status=Ticket.Status.TESTING)
    assigned.assignees.add(operator, analyst)
    TicketFactory(status=Ticket.Status.PROPOSED)

    for_analyst = _section(todo_for(user=analyst), "tickets")
    for_operator = _section(todo_for(user=operator), "tickets")

    assert {(i["ticket_id"], i["reason"]) for i in for_analyst["items"]} == {
        (launched.pk, "analyse"), (analysing.pk, "analyse"), (assigned.pk, "assigned")}
    assert [(i["ticket_id"], i["reason"]) for i in for_operator["items"]] == [(assigned.pk, "assigned")]


def test_tracking_plan_reviews_for_analysts_only(make_staff):
    analyst, pm = make_staff(Role.ANALYST), make_staff(Role.PM)
    ticket = TicketFactory(owner_pm=pm, status=Ticket.Status.DESIGNING)
    waiting = TrackingPlan.objects.create(ticket=ticket, version=2, status=TrackingPlan.Status.IN_REVIEW, events=[],
                                          author=pm)
    TrackingPlan.objects.create(ticket=ticket, version=1, status=TrackingPlan.Status.APPROVED, events=[], author=pm)

    section = _section(todo_for(user=analyst), "plan_reviews")

    assert section["count"] == 1
    assert section["items"][0]["plan_id"] == waiting.pk
    assert "plan_reviews" not in {s["key"] for s in todo_for(user=pm)}


def test_coupon_campaigns_at_90_percent_of_budget_or_ending_within_7_days(make_staff, coupon_campaign):
    user_ops = make_staff(Role.USER_OPS)
    at_90 = coupon_campaign("at 90%", budget=1000, committed=900)
    coupon_campaign("at 89%", budget=1000, committed=890)
    ending = coupon_campaign("ends in 6 days", ends_in_days=6)
    coupon_campaign("ends in 8 days", ends_in_days=8)
    coupon_campaign("ended", ends_in_days=-1, started_days_ago=20, committed=1000)
    coupon_campaign("not started", started_days_ago=-1, committed=1000)

    section = _section(todo_for(user=user_ops), "coupons")

    assert {item["campaign_id"] for item in section["items"]} == {at_90.pk, ending.pk}
    assert next(i for i in section["items"] if i["campaign_id"] == at_90.pk)["budget_low"] is True
    assert next(i for i in section["items"] if i["campaign_id"] == ending.pk)["ending"] is True


def test_my_segments_that_moved_20_percent_either_way(make_staff, segment_with_sizes):
    me = make_staff(Role.USER_OPS)
    grew = segment_with_sizes("grew", [50, 100, 125], me)  # +25 %
    shrank = segment_with_sizes("shrank", [100, 80], me)  # −20 %: at the threshold
    segment_with_sizes("steady", [100, 119], me)  # +19 %
    segment_with_sizes("new", [0, 40], me)  # nothing to compare with
    segment_with_sizes("someone else's", [100, 300], make_staff(Role.USER_OPS))

    section = _section(todo_for(user=me), "segments")

    assert [(i["segment_id"], i["previous"], i["size"], i["change"]) for i in section["items"]] == [
        (grew.pk, 100, 125, 0.25), (shrank.pk, 100, 80, -0.2)]


def test_sections_follow_the_role(make_staff):
    keys = {role: [s["key"] for s in todo_for(user=make_staff(role))] for role in Role}

    assert keys[Role.MERCHANT_OPS] == ["follow_ups", "stale_merchants", "tickets"]
    assert keys[Role.USER_OPS] == ["tickets", "coupons", "segments"]
    assert keys[Role.ANALYST] == ["tickets", "plan_reviews"]
    assert keys[Role.PM] == ["tickets"]
    assert keys[Role.PRODUCT_OPS] == ["tickets"]
    assert keys[Role.ADMIN] == ["follow_ups", "stale_merchants", "tickets", "plan_reviews", "coupons", "segments"]


def test_a_lead_sees_each_members_load(make_staff, team_with, contact_due):
    lead, ann, bob = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    team = team_with("Merchant operations", "merchant_ops", lead=lead, members=[ann, bob])
    merchant = MerchantFactory(owner=ann)
    contact_due(merchant, days=-2)
    contact_due(merchant, days=0)
    contact_due(merchant, days=5)
    MerchantFactory(owner=bob, stage=Merchant.Stage.CONTACTED, stage_changed_at=timezone.now() - timedelta(days=40))
    TicketFactory(status=Ticket.Status.TESTING).assignees.add(bob)
    TicketFactory(status=Ticket.Status.CONCLUDED).assignees.add(bob)

    (entry,) = team_load(user=lead)

    assert entry["team"] == team
    load = {m["user"].username: (m["open_follow_ups"], m["overdue"], m["tickets"], m["stale"], m["is_lead"])
            for m in entry["members"]}
    assert load == {lead.username: (0, 0, 0, 0, True), ann.username: (3, 1, 0, 0, False),
                    bob.username: (0, 0, 1, 1, False)}
    assert team_load(user=ann) == []


def _desk_queries(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        desk_for(user=user)
    return len(queries)


# Per role: the desk's queries (the roles once per user object — none for a superuser —, teams led, my goals, then
# one per section: stale merchants also read the stage settings; alerts are one query).
DESK_QUERIES = {Role.MERCHANT_OPS: 1 + 7, Role.USER_OPS: 1 + 6, Role.ANALYST: 1 + 5, Role.PM: 1 + 4,
                Role.PRODUCT_OPS: 1 + 4, Role.ADMIN: 0 + 10}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_desk_query_count_is_pinned_and_flat(make_staff, team_with, contact_due, role):
    user = make_staff(role)
    user = type(user).objects.get(pk=user.pk)
    empty = _desk_queries(user)
    assert empty == DESK_QUERIES[role]

    user = type(user).objects.get(pk=user.pk)
    for n in range(6):
        merchant = MerchantFactory(owner=user, stage=Merchant.Stage.LEAD,
                                   stage_changed_at=timezone.now() - timedelta(days=30))
        contact_due(merchant, days=-n)
        TicketFactory(owner_pm=user, status=Ticket.Status.DESIGNING).assignees.add(user)
    assert _desk_queries(user) == empty


def test_team_load_queries_do_not_grow_with_members(make_staff, team_with, contact_due):
    lead = make_staff(Role.MERCHANT_OPS)
    team_with("Small", "merchant_ops", lead=lead, members=[make_staff(Role.MERCHANT_OPS)])
    with CaptureQueriesContext(connection) as small:
        team_load(user=lead)

    members = [make_staff(Role.MERCHANT_OPS) for _ in range(8)]
    team_with("Large", "merchant_ops", lead=lead, members=members)
    for member in members:
        contact_due(MerchantFactory(owner=member), days=-1)
        TicketFactory(status=Ticket.Status.TESTING).assignees.add(member)
    with CaptureQueriesContext(connection) as large:
        entry = next(e for e in team_load(user=lead) if e["team"].name == "Large")

    # teams, their memberships, the members, follow-ups, stage settings + stale, tickets, the teams' goals: 8
    # whatever the number of members and teams
    assert len(small) == len(large) == 8
    assert sum(m["overdue"] for m in entry["members"]) == 8


# Clearing a follow-up from the desk


def test_a_merchant_operator_clears_a_due_follow_up_from_the_desk(client_for, make_staff, contact_due):
    client = client_for(Role.MERCHANT_OPS)
    me = client.session["_auth_user_id"]
    merchant = MerchantFactory(owner_id=me)
    due = contact_due(merchant, days=0)
    contact_due(merchant, days=-1)
    next_week = timezone.localdate() + timedelta(days=7)
    page = client.get("/")
    assert page.context["desk"]["sections"][0]["count"] == 2

    response = client.post(f"/desk/follow-ups/{due.pk}/done/",
                           {"kind": "visit", "outcome": "Menu updated", "follow_up_on": next_week.isoformat()})

    assert response.status_code == 302 and response["Location"] == "/"
    due.refresh_from_db()
    assert due.follow_up_done_at is not None
    logged = MerchantContact.objects.filter(merchant=merchant).order_by("-pk").first()
    assert (logged.kind, logged.outcome, logged.follow_up_on) == ("visit", "Menu updated", next_week)
    assert client.get("/").context["desk"]["sections"][0]["count"] == 1


def test_clearing_someone_elses_follow_up_is_refused_and_changes_nothing(client_for, make_staff, contact_due):
    client = client_for(Role.MERCHANT_OPS)
    theirs = contact_due(MerchantFactory(owner=make_staff(Role.MERCHANT_OPS)), days=0)

    response = client.post(f"/desk/follow-ups/{theirs.pk}/done/", {"kind": "call"})

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.follow_up_done_at is None
    assert MerchantContact.objects.count() == 1


def test_only_merchant_ops_may_clear_a_follow_up(client_for, make_staff, contact_due):
    contact = contact_due(MerchantFactory(owner=make_staff(Role.MERCHANT_OPS)), days=0)

    response = client_for(Role.USER_OPS).post(f"/desk/follow-ups/{contact.pk}/done/", {"kind": "call"})

    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.follow_up_done_at is None


def test_the_desk_shows_real_goals_mine_and_each_led_teams(make_staff, team_with):
    """goals' real selectors, not stubs: my goals, and for a lead every team's goals measured together."""
    lead, member = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    first = team_with("Merchant operations", "merchant_ops", lead=lead, members=[member])
    second = team_with("City launch", "merchant_ops", lead=lead)
    today, start = date(2026, 11, 10), date(2026, 11, 1)  # a past day: measured through 9 November
    company = make_goal(metric=Metric.MERCHANTS_SIGNED, target=40, start=start, title="Sign 40")
    make_goal(metric=Metric.MERCHANTS_SIGNED, target=20, start=start, level=Goal.Level.TEAM, team=first,
              parent=company, title="Team signs 20")
    make_goal(metric=Metric.MERCHANTS_LIVE, target=5, start=start, level=Goal.Level.TEAM, team=second,
              parent=company, title="Five live")
    MerchantFactory(owner=member, stage=Merchant.Stage.SIGNED, signed_at=local_time(date(2026, 11, 5), 15))

    desk = desk_for(user=lead, today=today)

    assert [goal["title"] for goal in desk["goals"]] == ["Sign 40", "Five live", "Team signs 20"]
    by_team = {entry["team"].name: [(goal["title"], goal["value"]) for goal in entry["goals"]]
               for entry in desk["teams"]}
    assert by_team == {"Merchant operations": [("Team signs 20", 1)], "City launch": [("Five live", 0)]}
    assert [goal["title"] for goal in desk_for(user=member, today=today)["goals"]][0] == "Sign 40"
