"""The pages' forms for campaigns, training and recruitment targets, and the merchant list's pages.

Operators (merchant_ops) change their own merchants' invitations, enrolments and attendance; an admin changes
everything and alone sets targets; other roles read the pages without the forms, and their POSTs are 403 with
nothing changed.
"""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants.models import (
    Campaign,
    CampaignInvite,
    Certification,
    Course,
    Enrolment,
    Merchant,
    MerchantContact,
    RecruitmentTarget,
    TrainingSession,
)
from merchants.services.campaigns import campaign_create, campaign_invite
from merchants.services.training import course_create, training_enrol, training_session_create
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
READERS = [Role.USER_OPS, Role.PRODUCT_OPS, Role.PM, Role.ANALYST]
CAMPAIGN = {"name": "Spring", "kind": "discount", "starts_on": "2026-04-01", "ends_on": "2026-04-14",
            "budget": "1000", "target_tiers": ["potential"], "target_categories": "food, drinks"}


def _campaign(user, **extra):
    return campaign_create(user=user, name="Spring", kind="discount", starts_on=date(2026, 4, 1),
                           ends_on=date(2026, 4, 14), **extra)


def _session(user, *, capacity=30, code="C1", required_for=()):
    course = course_create(user=user, code=code, name="Basics", required_for=list(required_for))
    return training_session_create(user=user, course=course, starts_at=timezone.now(), trainer="Li", online=True,
                                   capacity=capacity)


# The merchant list's pages


def test_list_is_paged_with_the_filters_kept_in_the_links(client_for):
    for i in range(120):
        MerchantFactory(code=f"A{i:03d}", city="Shanghai" if i % 2 else "Beijing")
    client = client_for(Role.ANALYST)

    first = client.get("/merchants/", {"city": "Shanghai"})
    second = client.get("/merchants/", {"city": "Shanghai", "page": "2"})
    past_the_end = client.get("/merchants/", {"city": "Shanghai", "page": "99"})
    nonsense = client.get("/merchants/", {"page": "x"})

    assert [m.code for m in first.context["merchants"]][:2] == ["A001", "A003"]
    assert len(first.context["merchants"]) == 50
    assert [m.code for m in second.context["merchants"]] == [f"A{i:03d}" for i in range(101, 120, 2)]
    assert 'href="?city=Shanghai&amp;page=2"' in first.content.decode()
    assert 'href="?city=Shanghai&amp;page=1"' in second.content.decode()
    assert "Page 2 of 2 · 60 merchants" in second.content.decode()
    assert past_the_end.context["page"].number == 2
    assert (nonsense.status_code, nonsense.context["page"].number) == (200, 1)


def test_list_pages_cost_the_same_queries_whatever_the_page_or_size(client_for, django_assert_num_queries):
    for i in range(60):
        MerchantFactory(code=f"A{i:03d}")
    client = client_for(Role.ANALYST)
    client.get("/merchants/")
    with django_assert_num_queries(9):
        client.get("/merchants/", {"page": "2"})
    for i in range(60, 200):
        MerchantFactory(code=f"A{i:03d}")
    with django_assert_num_queries(9):
        response = client.get("/merchants/", {"page": "3", "stage": "live"})

    assert len(response.context["merchants"]) == 50


def test_programme_pages_have_bounded_query_counts(client, make_staff):
    admin = make_staff(Role.ADMIN)
    ops = make_staff(Role.MERCHANT_OPS)
    session = _session(admin)
    campaign = _campaign(admin)
    # one invitation from the start: an empty page of invitations skips the page query
    campaign_invite(user=admin, campaign_id=campaign.pk, merchant_ids=[MerchantFactory(owner=ops).pk])
    RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), target=5)
    client.force_login(admin)
    pages = ["/merchants/campaigns/", f"/merchants/campaigns/{campaign.pk}/", "/merchants/training/",
             f"/merchants/training/sessions/{session.pk}/", "/merchants/targets/"]
    for page in pages:
        client.get(page)

    def counts():
        result = []
        for page in pages:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(page).status_code == 200
            result.append(len(captured))
        return result

    few = counts()
    merchants = [MerchantFactory(owner=ops, tier="potential") for _ in range(12)]
    training_enrol(user=admin, session_id=session.pk, merchant_ids=[m.pk for m in merchants])
    campaign_invite(user=admin, campaign_id=campaign.pk, merchant_ids=[m.pk for m in merchants])
    for i in range(5):
        RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                                         target=5, city=f"City {i}")
        _campaign(admin)

    assert counts() == few


# Campaigns


def test_operator_creates_a_campaign_and_a_bad_period_is_shown_beside_its_field(client_for):
    client = client_for(Role.MERCHANT_OPS)

    bad = client.post("/merchants/campaigns/", {**CAMPAIGN, "ends_on": "2026-03-01"})
    good = client.post("/merchants/campaigns/", CAMPAIGN)

    assert bad.status_code == 400
    assert 'data-testid="error-ends_on">Must be on or after the start.' in bad.content.decode()
    campaign = Campaign.objects.get()
    assert good.url == f"/merchants/campaigns/{campaign.pk}/"
    assert (campaign.target_tiers, campaign.target_categories) == (["potential"], ["drinks", "food"])


def test_campaign_edit_by_its_creator_and_not_by_another_operator(client, make_staff):
    creator, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    campaign = _campaign(creator)

    client.force_login(other)
    page = client.get(f"/merchants/campaigns/{campaign.pk}/")
    refused = client.post(f"/merchants/campaigns/{campaign.pk}/edit/", {**CAMPAIGN, "name": "Taken over"})
    client.force_login(creator)
    invalid = client.post(f"/merchants/campaigns/{campaign.pk}/edit/", {**CAMPAIGN, "budget": "-5"})
    saved = client.post(f"/merchants/campaigns/{campaign.pk}/edit/", {**CAMPAIGN, "name": "Spring sale"})

    assert b'data-testid="campaign-edit"' not in page.content
    assert b'data-testid="invite-form"' in page.content
    assert refused.status_code == 403
    assert invalid.status_code == 400
    assert b'data-testid="error-budget"' in invalid.content
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Spring sale"


def test_invite_in_bulk_by_tier_and_category_invites_only_own_live_merchants(client, make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    campaign = _campaign(ops)
    wanted = MerchantFactory(code="W1", owner=ops, tier="potential", category="food")
    MerchantFactory(code="X1", owner=ops, tier="core", category="food")
    MerchantFactory(code="X2", owner=ops, tier="potential", category="drinks")
    MerchantFactory(code="X3", owner=ops, tier="potential", category="food", stage="paused")
    MerchantFactory(code="X4", owner=other, tier="potential", category="food")
    client.force_login(ops)

    response = client.post(f"/merchants/campaigns/{campaign.pk}/invite/", {"tiers": ["potential"],
                                                                           "categories": ["food"]})
    again = client.post(f"/merchants/campaigns/{campaign.pk}/invite/", {"tiers": ["potential"],
                                                                        "categories": ["food"]}, follow=True)
    unknown = client.post(f"/merchants/campaigns/{campaign.pk}/invite/", {"tiers": ["gold"]})

    assert response.status_code == 302
    assert list(CampaignInvite.objects.values_list("merchant__code", "status")) == [("W1", "invited")]
    assert list(MerchantContact.objects.values_list("merchant", "kind")) == [(wanted.pk, "campaign_invite")]
    assert "0 merchants invited." in again.content.decode()
    assert unknown.status_code == 400
    assert b'data-testid="error-tiers"' in unknown.content


def test_record_answers_then_took_part_and_not_on_another_operators_merchant(client, make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    campaign = _campaign(ops)
    mine, theirs = MerchantFactory(owner=ops), MerchantFactory(owner=other)
    admin = make_staff(Role.ADMIN)
    campaign_invite(user=admin, campaign_id=campaign.pk, merchant_ids=[mine.pk, theirs.pk])
    mine_invite = CampaignInvite.objects.get(merchant=mine)
    theirs_invite = CampaignInvite.objects.get(merchant=theirs)
    client.force_login(ops)

    page = client.get(f"/merchants/campaigns/{campaign.pk}/")
    client.post(f"/merchants/invites/{mine_invite.pk}/respond/", {"status": "accepted"})
    client.post(f"/merchants/invites/{mine_invite.pk}/respond/", {"status": "took_part"})
    impossible = client.post(f"/merchants/invites/{mine_invite.pk}/respond/", {"status": "declined"}, follow=True)
    refused = client.post(f"/merchants/invites/{theirs_invite.pk}/respond/", {"status": "accepted"})

    html = page.content.decode()
    assert html.count('action="/merchants/invites/') == 1
    assert f'action="/merchants/invites/{mine_invite.pk}/respond/"' in html
    mine_invite.refresh_from_db()
    theirs_invite.refresh_from_db()
    assert mine_invite.status == "took_part"
    assert "This answer is not possible now." in impossible.content.decode()
    assert refused.status_code == 403
    assert theirs_invite.status == "invited"


# Training


def test_course_create_and_edit_with_field_errors(client_for):
    client = client_for(Role.MERCHANT_OPS)

    client.post("/merchants/training/courses/new/", {"code": "C1", "name": "Basics", "required_for": ["core"]})
    taken = client.post("/merchants/training/courses/new/", {"code": "C1", "name": "Again"})
    missing = client.post("/merchants/training/courses/new/", {"code": "C2"})
    course = Course.objects.get()
    edit_page = client.get(f"/merchants/training/courses/{course.pk}/edit/")
    client.post(f"/merchants/training/courses/{course.pk}/edit/", {"name": "Basics 2",
                                                                   "required_for": ["core", "potential"]})

    assert (taken.status_code, missing.status_code) == (400, 400)
    assert 'data-testid="error-code">This code is taken.' in taken.content.decode()
    assert b'data-testid="error-name"' in missing.content
    assert b'name="code"' not in edit_page.content
    course.refresh_from_db()
    assert (course.code, course.name, course.required_for) == ("C1", "Basics 2", ["core", "potential"])


def test_session_create_needs_a_place_or_online_and_opens_its_page(client, make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    course = course_create(user=ops, code="C1", name="Basics")
    client.force_login(ops)
    data = {"course": course.pk, "starts_at": "2026-05-04T14:00", "trainer": "Li", "capacity": "10"}

    no_place = client.post("/merchants/training/sessions/new/", data)
    created = client.post("/merchants/training/sessions/new/", {**data, "place": "Room 3"})

    assert no_place.status_code == 400
    assert 'data-testid="error-place">Required.' in no_place.content.decode()
    session = TrainingSession.objects.get()
    assert created.url == f"/merchants/training/sessions/{session.pk}/"
    assert timezone.localtime(session.starts_at).replace(tzinfo=None) == datetime(2026, 5, 4, 14, 0)
    assert (session.place, session.capacity) == ("Room 3", 10)


def test_enrol_own_merchants_mark_attendance_and_certify(client, make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    session = _session(ops, required_for=["potential"])
    came, stayed_away = MerchantFactory(owner=ops, tier="potential"), MerchantFactory(owner=ops, tier="potential")
    theirs = MerchantFactory(owner=other)
    client.force_login(ops)

    page = client.get(f"/merchants/training/sessions/{session.pk}/")
    options = set(page.context["enrol_form"].fields["merchants"].queryset)
    not_mine = client.post(f"/merchants/training/sessions/{session.pk}/enrol/", {"merchants": [theirs.pk]})
    client.post(f"/merchants/training/sessions/{session.pk}/enrol/", {"merchants": [came.pk, stayed_away.pk]})
    nothing = client.post(f"/merchants/training/sessions/{session.pk}/attendance/", {})
    client.post(f"/merchants/training/sessions/{session.pk}/attendance/", {
        f"m{came.pk}": "attended", f"m{stayed_away.pk}": "absent"})

    assert options == {came, stayed_away}
    assert not_mine.status_code == 400  # not among the choices
    assert nothing.status_code == 400
    assert b"Mark at least one merchant" in nothing.content
    assert dict(Enrolment.objects.values_list("merchant", "status")) == {came.pk: "attended",
                                                                         stayed_away.pk: "absent"}
    assert list(Certification.objects.values_list("merchant", "tier")) == [(came.pk, "potential")]


def test_attendance_of_another_operators_merchant_is_refused(client, make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    session = _session(ops)
    theirs = MerchantFactory(owner=other)
    training_enrol(user=other, session_id=session.pk, merchant_ids=[theirs.pk])
    client.force_login(ops)

    page = client.get(f"/merchants/training/sessions/{session.pk}/")
    refused = client.post(f"/merchants/training/sessions/{session.pk}/attendance/", {f"m{theirs.pk}": "attended"})

    assert f'name="m{theirs.pk}"' not in page.content.decode()
    assert refused.status_code == 403
    assert Enrolment.objects.get().status == "enrolled"


def test_session_edit_keeps_capacity_above_the_enrolled(client, make_staff):
    admin = make_staff(Role.ADMIN)
    session = _session(admin, capacity=5)
    training_enrol(user=admin, session_id=session.pk,
                   merchant_ids=[MerchantFactory().pk, MerchantFactory().pk])
    client.force_login(admin)
    data = {"course": session.course_id, "starts_at": "2026-05-04T14:00", "trainer": "Wang", "online": "on"}

    too_small = client.post(f"/merchants/training/sessions/{session.pk}/edit/", {**data, "capacity": "1"})
    saved = client.post(f"/merchants/training/sessions/{session.pk}/edit/", {**data, "capacity": "2"})

    assert too_small.status_code == 400
    assert 'data-testid="error-capacity">At least 2: the merchants enrolled.' in too_small.content.decode()
    assert saved.status_code == 302
    session.refresh_from_db()
    assert (session.trainer, session.capacity) == ("Wang", 2)


# Targets


def test_admin_sets_and_edits_targets_with_field_errors(client_for):
    client = client_for(Role.ADMIN)
    data = {"period_start": "2026-01-01", "period_end": "2026-06-30", "category": "food", "city": "", "target": "20"}

    client.post("/merchants/targets/new/", data)
    duplicate = client.post("/merchants/targets/new/", data)
    backwards = client.post("/merchants/targets/new/", {**data, "period_end": "2025-12-31"})
    zero = client.post("/merchants/targets/new/", {**data, "target": "0"})
    target = RecruitmentTarget.objects.get()
    client.post(f"/merchants/targets/{target.pk}/edit/", {**data, "target": "25", "city": "Shanghai"})

    assert (duplicate.status_code, backwards.status_code, zero.status_code) == (400, 400, 400)
    assert b'data-testid="form-error"' in duplicate.content
    assert 'data-testid="error-period_end">Must be on or after the start.' in backwards.content.decode()
    assert b'data-testid="error-target"' in zero.content
    target.refresh_from_db()
    assert (target.target, target.city, target.category) == (25, "Shanghai", "food")


def test_operators_read_targets_but_may_not_set_them(client_for):
    target = RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), target=5)
    client = client_for(Role.MERCHANT_OPS)

    page = client.get("/merchants/targets/")
    created = client.post("/merchants/targets/new/", {"period_start": "2026-01-01", "period_end": "2026-02-01",
                                                      "target": "3"})
    edited = client.post(f"/merchants/targets/{target.pk}/edit/", {"period_start": "2026-01-01",
                                                                   "period_end": "2026-02-01", "target": "3"})

    assert page.status_code == 200
    assert b'data-testid="target-new"' not in page.content
    assert (created.status_code, edited.status_code) == (403, 403)
    assert list(RecruitmentTarget.objects.values_list("target", flat=True)) == [5]


# Readers


@pytest.mark.parametrize("role", READERS)
def test_readers_see_no_forms_and_every_post_is_403_with_nothing_changed(client, make_staff, role):
    admin = make_staff(Role.ADMIN)
    merchant = MerchantFactory(owner=make_staff(Role.MERCHANT_OPS), tier="potential")
    campaign = _campaign(admin)
    campaign_invite(user=admin, campaign_id=campaign.pk, merchant_ids=[merchant.pk])
    invite = CampaignInvite.objects.get()
    session = _session(admin)
    training_enrol(user=admin, session_id=session.pk, merchant_ids=[merchant.pk])
    target = RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), target=5)
    course = session.course
    client.force_login(make_staff(role))

    pages = {url: client.get(url) for url in ("/merchants/campaigns/", f"/merchants/campaigns/{campaign.pk}/",
                                              "/merchants/training/", f"/merchants/training/sessions/{session.pk}/",
                                              "/merchants/targets/")}
    posts = {
        "/merchants/campaigns/": CAMPAIGN,
        f"/merchants/campaigns/{campaign.pk}/edit/": {**CAMPAIGN, "name": "Mine now"},
        f"/merchants/campaigns/{campaign.pk}/invite/": {},
        f"/merchants/invites/{invite.pk}/respond/": {"status": "accepted"},
        "/merchants/training/courses/new/": {"code": "C9", "name": "New"},
        f"/merchants/training/courses/{course.pk}/edit/": {"name": "Renamed"},
        "/merchants/training/sessions/new/": {"course": course.pk, "starts_at": "2026-05-04T14:00",
                                              "trainer": "Li", "online": "on", "capacity": "5"},
        f"/merchants/training/sessions/{session.pk}/edit/": {"course": course.pk, "starts_at": "2026-05-04T14:00",
                                                             "trainer": "X", "online": "on", "capacity": "5"},
        f"/merchants/training/sessions/{session.pk}/enrol/": {"merchants": [merchant.pk]},
        f"/merchants/training/sessions/{session.pk}/attendance/": {f"m{merchant.pk}": "attended"},
        "/merchants/targets/new/": {"period_start": "2026-01-01", "period_end": "2026-02-01", "target": "3"},
        f"/merchants/targets/{target.pk}/edit/": {"period_start": "2026-01-01", "period_end": "2026-02-01",
                                                  "target": "3"},
    }
    answers = {url: client.post(url, data).status_code for url, data in posts.items()}

    assert all(response.status_code == 200 for response in pages.values())
    for response in pages.values():
        assert b'method="post"' not in response.content.split(b"</main>")[0].split(b"<main")[-1]
    assert set(answers.values()) == {403}, answers
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Spring"]
    assert list(CampaignInvite.objects.values_list("status", flat=True)) == ["invited"]
    assert list(Course.objects.values_list("code", "name")) == [("C1", "Basics")]
    assert list(TrainingSession.objects.values_list("trainer", flat=True)) == ["Li"]
    assert list(Enrolment.objects.values_list("status", flat=True)) == ["enrolled"]
    assert list(RecruitmentTarget.objects.values_list("target", flat=True)) == [5]
    assert Merchant.objects.count() == 1
    assert Certification.objects.count() == 0


# The same changes through the API


def test_api_changes_courses_sessions_campaigns_and_targets(api_client_for, make_staff):
    admin = api_client_for(Role.ADMIN)
    course = admin.post("/api/v1/merchants/courses/", {"code": "C1", "name": "Basics"}, format="json").json()
    session = admin.post("/api/v1/merchants/sessions/", {"course": "C1", "starts_at": "2026-05-04T14:00:00+08:00",
                                                         "trainer": "Li", "online": True}, format="json").json()
    campaign = admin.post("/api/v1/merchants/campaigns/", {"name": "Spring", "kind": "coupon",
                                                           "starts_on": "2026-04-01", "ends_on": "2026-04-02"},
                          format="json").json()
    target = admin.post("/api/v1/merchants/targets/", {"period_start": "2026-01-01", "period_end": "2026-06-30",
                                                       "target": 5}, format="json").json()

    course_put = admin.put(f"/api/v1/merchants/courses/{course['id']}/", {"name": "Basics 2",
                                                                         "required_for": ["core"]}, format="json")
    session_put = admin.put(f"/api/v1/merchants/sessions/{session['id']}/", {
        "course": "C1", "starts_at": "2026-05-05T09:00:00+08:00", "trainer": "Wang", "place": "Room 1",
        "online": False, "capacity": 8}, format="json")
    session_bad = admin.put(f"/api/v1/merchants/sessions/{session['id']}/", {
        "course": "C1", "starts_at": "2026-05-05T09:00:00+08:00", "trainer": "Wang", "online": False},
        format="json")
    campaign_put = admin.put(f"/api/v1/merchants/campaigns/{campaign['id']}/", {
        "name": "Spring sale", "kind": "coupon", "starts_on": "2026-04-01", "ends_on": "2026-04-09",
        "target_tiers": ["potential"]}, format="json")
    target_put = admin.put(f"/api/v1/merchants/targets/{target['id']}/", {
        "period_start": "2026-01-01", "period_end": "2026-06-30", "target": 9, "city": "Shanghai"}, format="json")
    missing = admin.put("/api/v1/merchants/courses/999999/", {"name": "x"}, format="json")

    assert (course_put.status_code, course_put.json()["name"], course_put.json()["required_for"]) == (
        200, "Basics 2", ["core"])
    assert (session_put.status_code, session_put.json()["trainer"], session_put.json()["capacity"]) == (
        200, "Wang", 8)
    assert (session_bad.status_code, list(session_bad.json()["errors"])) == (400, ["place"])
    assert (campaign_put.status_code, campaign_put.json()["ends_on"]) == (200, "2026-04-09")
    assert (target_put.status_code, target_put.json()["target"], target_put.json()["city"]) == (200, 9, "Shanghai")
    assert missing.status_code == 404


def test_api_campaign_edit_by_another_operator_and_invite_by_category(api_client_for, make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    campaign = _campaign(ops)
    MerchantFactory(code="F1", owner=ops, category="food", tier="core")
    MerchantFactory(code="D1", owner=ops, category="drinks", tier="core")
    other = api_client_for(Role.MERCHANT_OPS)
    mine = api_client_for(Role.ADMIN)

    refused = other.put(f"/api/v1/merchants/campaigns/{campaign.pk}/", {
        "name": "Mine", "kind": "coupon", "starts_on": "2026-04-01", "ends_on": "2026-04-09"}, format="json")
    invited = mine.post(f"/api/v1/merchants/campaigns/{campaign.pk}/invite/", {"tiers": [], "categories": ["drinks"]},
                        format="json")

    assert refused.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Spring"
    assert (invited.status_code, invited.json()) == (201, {"invited": 1})
    assert list(CampaignInvite.objects.values_list("merchant__code", flat=True)) == ["D1"]


def test_api_lists_have_bounded_query_counts(api_client_for, make_staff):
    admin_user = make_staff(Role.ADMIN)
    session = _session(admin_user)
    campaign = _campaign(admin_user)
    first = MerchantFactory(owner=admin_user, tier="potential", health_score=70)
    training_enrol(user=admin_user, session_id=session.pk, merchant_ids=[first.pk])
    campaign_invite(user=admin_user, campaign_id=campaign.pk, merchant_ids=[first.pk])
    RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), target=5)
    client = api_client_for(Role.ANALYST)
    urls = ["/api/v1/merchants/", "/api/v1/merchants/campaigns/", f"/api/v1/merchants/campaigns/{campaign.pk}/",
            "/api/v1/merchants/sessions/", "/api/v1/merchants/courses/", "/api/v1/merchants/targets/",
            "/api/v1/merchants/tiers/changes/", "/api/v1/merchants/tiers/upgrade-candidates/"]
    for url in urls:
        client.get(url)

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200, url
            result.append(len(captured))
        return result

    few = counts()
    merchants = [MerchantFactory(owner=admin_user, tier="potential", health_score=70) for _ in range(15)]
    training_enrol(user=admin_user, session_id=session.pk, merchant_ids=[m.pk for m in merchants])
    campaign_invite(user=admin_user, campaign_id=campaign.pk, merchant_ids=[m.pk for m in merchants])
    for i in range(4):
        _session(admin_user, code=f"K{i}")
        _campaign(admin_user)
        RecruitmentTarget.objects.create(period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), target=5,
                                         city=f"City {i}")

    assert counts() == few


def test_enrol_choices_narrow_to_a_tier(client, make_staff):
    admin = make_staff(Role.ADMIN)
    core, potential = MerchantFactory(code="K1", tier="core"), MerchantFactory(code="P1", tier="potential")
    session = _session(admin, code="C7")
    client.force_login(admin)

    everyone = client.get(f"/merchants/training/sessions/{session.pk}/")
    only_core = client.get(f"/merchants/training/sessions/{session.pk}/", {"tier": "core"})

    assert set(everyone.context["enrol_form"].fields["merchants"].queryset) == {core, potential}
    assert list(only_core.context["enrol_form"].fields["merchants"].queryset) == [core]


def test_campaign_invitations_come_a_page_at_a_time(client, make_staff):
    from merchants.views.programmes import INVITES_PAGE_SIZE

    admin = make_staff(Role.ADMIN)
    campaign = _campaign(admin)
    merchants = [MerchantFactory(owner=admin, code=f"M{n:04d}") for n in range(INVITES_PAGE_SIZE + 3)]
    campaign_invite(user=admin, campaign_id=campaign.pk, merchant_ids=[m.pk for m in merchants])
    client.force_login(admin)

    first = client.get(f"/merchants/campaigns/{campaign.pk}/").content.decode()
    second = client.get(f"/merchants/campaigns/{campaign.pk}/?page=2").content.decode()

    assert first.count('data-testid="invite-M') == INVITES_PAGE_SIZE
    assert f"Page 1 of 2 · {INVITES_PAGE_SIZE + 3} invitations" in first and 'data-testid="invites-next"' in first
    assert [code for code in ("M0100", "M0101", "M0102") if f'data-testid="invite-{code}"' in second] == [
        "M0100", "M0101", "M0102"]
    assert second.count('data-testid="invite-M') == 3
