from datetime import date, timedelta

import pytest
from django.utils import timezone

from analytics.services.loading import events_load
from merchants.models import CampaignInvite, Certification, Enrolment, MerchantContact
from merchants.services.campaigns import (
    campaign_create,
    campaign_invite,
    campaign_invite_respond,
    campaign_results,
)
from merchants.services.diagnosis import Problem
from merchants.services.playbooks import next_best_actions
from merchants.services.training import (
    course_create,
    growth_level,
    required_courses_missing,
    training_attendance_mark,
    training_enrol,
    training_session_create,
)
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time

pytestmark = pytest.mark.django_db


def _session(user, course):
    return training_session_create(user=user, course=course, starts_at=timezone.now(), trainer="Li", online=True)


def test_a_merchant_is_certified_when_every_required_course_is_attended(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = MerchantFactory(owner=ops, tier="potential")
    basics = course_create(user=ops, code="C1", name="Basics", required_for=["potential", "core"])
    service = course_create(user=ops, code="C2", name="Service", required_for=["potential"])
    course_create(user=ops, code="C3", name="Photos", required_for=["core"])
    first, second = _session(ops, basics), _session(ops, service)
    training_enrol(user=ops, session_id=first.pk, merchant_ids=[merchant.pk])
    training_enrol(user=ops, session_id=second.pk, merchant_ids=[merchant.pk])

    after_first = training_attendance_mark(user=ops, session_id=first.pk, attended={merchant.pk: True})
    missing = [c.code for c in required_courses_missing(merchant=merchant)]
    after_second = training_attendance_mark(user=ops, session_id=second.pk, attended={merchant.pk: True})

    assert (after_first, missing) == ([], ["C2"])
    assert [(c.merchant, c.tier) for c in after_second] == [(merchant, "potential")]
    assert Certification.objects.count() == 1


def test_absence_does_not_count_and_only_enrolled_merchants_are_marked(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant, other = MerchantFactory(owner=ops, tier="potential"), MerchantFactory(owner=ops)
    session = _session(ops, course_create(user=ops, code="C1", name="Basics", required_for=["potential"]))
    training_enrol(user=ops, session_id=session.pk, merchant_ids=[merchant.pk])

    training_attendance_mark(user=ops, session_id=session.pk, attended={merchant.pk: False})
    with pytest.raises(ApplicationError) as exc:
        training_attendance_mark(user=ops, session_id=session.pk, attended={other.pk: True})

    assert Enrolment.objects.get().status == "absent"
    assert exc.value.errors == {"attended": [f"Not enrolled: {other.pk}."]}
    assert Certification.objects.count() == 0


def test_enrolment_is_for_merchants_you_manage_and_within_capacity(make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    course = course_create(user=ops, code="C1", name="Basics")
    session = training_session_create(user=ops, course=course, starts_at=timezone.now(), trainer="Li",
                                      place="Room 1", capacity=1)
    mine, mine_too, theirs = MerchantFactory(owner=ops), MerchantFactory(owner=ops), MerchantFactory(owner=other)

    with pytest.raises(ApplicationError) as not_mine:
        training_enrol(user=ops, session_id=session.pk, merchant_ids=[theirs.pk])
    with pytest.raises(ApplicationError) as full:
        training_enrol(user=ops, session_id=session.pk, merchant_ids=[mine.pk, mine_too.pk])

    assert not_mine.value.status_code == 403
    assert full.value.errors == {"merchants": ["1 place left."]}  # ngettext: never "1 places"
    assert Enrolment.objects.count() == 0


def test_a_session_needs_a_place_unless_online(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    course = course_create(user=ops, code="C1", name="Basics")
    with pytest.raises(ApplicationError) as exc:
        training_session_create(user=ops, course=course, starts_at=timezone.now(), trainer="Li")
    assert exc.value.errors == {"place": ["Required."]}


def test_growth_levels():
    assert growth_level(attended_courses=0, total_courses=3, certified=False) == "new"
    assert growth_level(attended_courses=1, total_courses=3, certified=False) == "learning"
    assert growth_level(attended_courses=2, total_courses=3, certified=True) == "certified"
    assert growth_level(attended_courses=3, total_courses=3, certified=True) == "mentor"


def test_campaign_invites_target_tiers_of_my_live_merchants_and_logs_them(make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    potential = MerchantFactory(owner=ops, tier="potential")
    MerchantFactory(owner=ops, tier="core")
    MerchantFactory(owner=other, tier="potential")
    MerchantFactory(owner=ops, tier="potential", stage="paused")
    today = timezone.localdate()
    campaign = campaign_create(user=ops, name="Spring boost", kind="traffic", starts_on=today,
                               ends_on=today + timedelta(days=6), budget=1000, target_tiers=["potential"])

    invited = campaign_invite(user=ops, campaign_id=campaign.pk)
    again = campaign_invite(user=ops, campaign_id=campaign.pk)

    assert (invited, again) == (1, 0)
    assert list(CampaignInvite.objects.values_list("merchant", "status")) == [(potential.pk, "invited")]
    assert list(MerchantContact.objects.values_list("merchant", "kind", "notes")) == [
        (potential.pk, "campaign_invite", "Spring boost")]


def test_invite_answers_follow_invited_accepted_took_part(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = MerchantFactory(owner=ops)
    today = timezone.localdate()
    campaign = campaign_create(user=ops, name="C", kind="coupon", starts_on=today, ends_on=today)
    campaign_invite(user=ops, campaign_id=campaign.pk, merchant_ids=[merchant.pk])
    invite = CampaignInvite.objects.get()

    with pytest.raises(ApplicationError) as early:
        campaign_invite_respond(user=ops, invite_id=invite.pk, status="took_part")
    campaign_invite_respond(user=ops, invite_id=invite.pk, status="accepted")
    done = campaign_invite_respond(user=ops, invite_id=invite.pk, status="took_part")

    assert early.value.errors == {"status": ["Allowed: accepted, declined."]}
    assert done.status == "took_part"
    with pytest.raises(ApplicationError) as analyst:
        campaign_invite_respond(user=make_staff(Role.ANALYST), invite_id=invite.pk, status="declined")
    assert analyst.value.status_code == 403


def test_a_merchant_takes_part_only_once_the_campaign_has_started(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = MerchantFactory(owner=ops)
    tomorrow = timezone.localdate() + timedelta(days=1)
    campaign = campaign_create(user=ops, name="Soon", kind="coupon", starts_on=tomorrow, ends_on=tomorrow)
    campaign_invite(user=ops, campaign_id=campaign.pk, merchant_ids=[merchant.pk])
    invite = campaign_invite_respond(user=ops, invite_id=CampaignInvite.objects.get().pk, status="accepted")

    with pytest.raises(ApplicationError) as early:
        campaign_invite_respond(user=ops, invite_id=invite.pk, status="took_part")

    assert early.value.errors == {"status": [
        f"A merchant takes part from the campaign's first day, {tomorrow.isoformat()}."]}
    invite.refresh_from_db()
    assert invite.status == "accepted"


def test_campaign_results_compare_participants_during_and_before(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    part, declined = MerchantFactory(owner=ops, code="P1"), MerchantFactory(owner=ops, code="D1")
    start = date(2026, 3, 10)
    campaign = campaign_create(user=ops, name="C", kind="discount", starts_on=start, ends_on=start + timedelta(2))
    campaign_invite(user=ops, campaign_id=campaign.pk, merchant_ids=[part.pk, declined.pk])
    for invite in CampaignInvite.objects.all():
        campaign_invite_respond(user=ops, invite_id=invite.pk, status="accepted")
        if invite.merchant == part:
            campaign_invite_respond(user=ops, invite_id=invite.pk, status="took_part")
    events_load([
        event_row("order_paid", "a", local_time(start, 9), merchant_id="P1", amount=30, order_id="1"),
        event_row("order_paid", "b", local_time(start + timedelta(2), 23), merchant_id="P1", amount=20, order_id="2"),
        event_row("order_paid", "a", local_time(start - timedelta(3), 9), merchant_id="P1", amount=10, order_id="3"),
        event_row("order_paid", "a", local_time(start - timedelta(4), 9), merchant_id="P1", amount=99, order_id="4"),
        event_row("order_paid", "c", local_time(start, 9), merchant_id="D1", amount=50, order_id="5"),
    ])

    results = campaign_results(campaign=campaign)

    assert results["days"] == 3
    assert [row["merchant"].code for row in results["rows"]] == ["P1"]
    assert results["totals"]["during"] == {"orders": 2, "gmv": 50.0, "customers": 2}
    assert results["totals"]["before"] == {"orders": 1, "gmv": 10.0, "customers": 1}
    assert results["totals"]["gmv_change"] == 4.0


def test_next_best_actions_put_the_diagnosis_before_the_tier_playbook():
    problem = Problem("orders_down", "Orders down", "-40%", "Call the merchant.")

    actions = next_best_actions(tier="at_risk", problems=[problem], limit=3)

    assert actions == ["Call the merchant.", "Visit within a week: find the cause of the drop.",
                       "Agree on a recovery plan with a date; follow up weekly."]
