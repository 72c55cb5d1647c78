"""The searchable merchant pickers: the search endpoint (/api/v1/merchants/pick/) and the enrol and invite forms
that use it. A long list renders only what is chosen; the endpoint offers what the form would accept."""

import re

import pytest
from django.utils import timezone

from merchants.models import CampaignInvite, Enrolment
from merchants.services.campaigns import campaign_create
from merchants.services.training import course_create, training_enrol, training_session_create
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/merchants/pick/"


def _session(user):
    course = course_create(user=user, code="C1", name="Basics", required_for=[])
    return training_session_create(user=user, course=course, starts_at=timezone.now(), trainer="Li", online=True,
                                   capacity=500)


def _campaign(user):
    from datetime import date

    return campaign_create(user=user, name="Spring", kind="discount", starts_on=date(2026, 4, 1),
                           ends_on=date(2026, 4, 14))


def _texts(response) -> list[str]:
    return [option["text"] for option in response.json()["results"]]


def test_search_matches_code_or_name_by_code_with_a_limit(client_for):
    MerchantFactory(code="M001", name="Golden Noodles")
    MerchantFactory(code="M002", name="Tea House")
    MerchantFactory(code="X003", name="Noodle Bar")
    client = client_for(Role.ANALYST)

    noodle = client.get(URL, {"q": "noodle"})
    by_code = client.get(URL, {"q": "m00"})
    first = client.get(URL, {"limit": "2"})

    assert noodle.status_code == 200
    assert noodle.json() == {"results": [
        {"value": noodle.json()["results"][0]["value"], "text": "M001 Golden Noodles"},
        {"value": noodle.json()["results"][1]["value"], "text": "X003 Noodle Bar"}], "more": False}
    assert _texts(by_code) == ["M001 Golden Noodles", "M002 Tea House"]
    assert _texts(first) == ["M001 Golden Noodles", "M002 Tea House"]
    assert first.json()["more"] is True


def test_session_search_offers_only_the_operators_merchants_not_yet_enrolled(client, make_staff):
    operator, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    enrolled = MerchantFactory(code="M001", owner=operator)
    free = MerchantFactory(code="M002", owner=operator)
    MerchantFactory(code="M003", owner=other)
    MerchantFactory(code="M004", owner=operator, stage="terminated")
    session = _session(operator)
    training_enrol(user=operator, session_id=session.pk, merchant_ids=[enrolled.pk])
    client.force_login(operator)

    answer = client.get(URL, {"session": session.pk})

    assert [o["value"] for o in answer.json()["results"]] == [free.pk]


def test_campaign_search_leaves_out_those_invited_and_other_peoples(client, make_staff):
    operator, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    invited = MerchantFactory(code="M001", owner=operator, stage="live")
    free = MerchantFactory(code="M002", owner=operator, stage="live")
    MerchantFactory(code="M003", owner=other, stage="live")
    campaign = _campaign(operator)
    CampaignInvite.objects.create(campaign=campaign, merchant=invited, invited_by=operator, invited_at=timezone.now())
    client.force_login(operator)

    answer = client.get(URL, {"campaign": campaign.pk, "q": "M00"})

    assert [o["value"] for o in answer.json()["results"]] == [free.pk]


def test_a_reader_gets_no_candidates_to_enrol(client, make_staff):
    admin = make_staff(Role.ADMIN)
    MerchantFactory(code="M001")
    session = _session(admin)
    client.force_login(make_staff(Role.PM))

    answer = client.get(URL, {"session": session.pk})

    assert answer.status_code == 200
    assert answer.json() == {"results": [], "more": False}


@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "51"}, "limit"), ({"limit": "x"}, "limit"),
    ({"q": "x" * 101}, "q"), ({"session": "abc"}, "session"), ({"campaign": "-1"}, "campaign"),
    ({"tier": "gold-ish"}, "tier"), ({"session": "1", "campaign": "1"}, "campaign"),
])
def test_bad_input_is_a_400_naming_the_field(client_for, params, field):
    answer = client_for(Role.ANALYST).get(URL, params)

    assert answer.status_code == 400
    assert field in str(answer.json())


def test_unknown_session_or_campaign_is_a_404(client_for):
    client = client_for(Role.ADMIN)

    assert client.get(URL, {"session": "999999"}).status_code == 404
    assert client.get(URL, {"campaign": "999999"}).status_code == 404


def test_anonymous_is_refused(client):
    assert client.get(URL).status_code in (401, 403)


def test_search_is_one_query(client_for, django_assert_max_num_queries):
    MerchantFactory.create_batch(30)
    client = client_for(Role.ANALYST)
    client.get(URL)  # the session and the user are read once per request; count the search itself

    with django_assert_max_num_queries(4):
        answer = client.get(URL, {"q": "M"})

    assert len(answer.json()["results"]) == 20


def test_session_page_renders_no_long_list_but_the_search_endpoint(client, make_staff):
    operator = make_staff(Role.MERCHANT_OPS)
    MerchantFactory.create_batch(210, owner=operator)
    session = _session(operator)
    client.force_login(operator)

    page = client.get(f"/merchants/training/sessions/{session.pk}/").content.decode()

    select = re.search(r'<select name="merchants"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    assert "<option" not in select.group(1)
    assert f'data-picker-url="/api/v1/merchants/pick/?session={session.pk}"' in select.group(0)
    assert "vendor/tom-select/tom-select.popular.min.js" in page
    assert '"no_results": "No results"' in page


def test_enrol_through_the_picker_and_a_refused_choice_shows_what_was_chosen(client, make_staff):
    operator, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    mine = MerchantFactory(code="M001", name="Mine", owner=operator)
    theirs = MerchantFactory(code="M002", owner=other)
    session = _session(operator)
    client.force_login(operator)

    refused = client.post(f"/merchants/training/sessions/{session.pk}/enrol/",
                          {"merchants": [mine.pk, theirs.pk]})
    enrolled = client.post(f"/merchants/training/sessions/{session.pk}/enrol/", {"merchants": [mine.pk]})

    assert refused.status_code == 400
    assert f'<option value="{mine.pk}" selected>M001 Mine</option>' in refused.content.decode()
    assert enrolled.status_code == 302
    assert list(Enrolment.objects.values_list("merchant_id", flat=True)) == [mine.pk]


def test_invite_the_merchants_named_in_the_picker(client, make_staff):
    operator = make_staff(Role.MERCHANT_OPS)
    named = MerchantFactory(code="M001", owner=operator, stage="live", tier="core")
    MerchantFactory(code="M002", owner=operator, stage="live", tier="core")
    campaign = _campaign(operator)
    client.force_login(operator)

    answer = client.post(f"/merchants/campaigns/{campaign.pk}/invite/", {"merchants": [named.pk]})

    assert answer.status_code == 302
    assert list(CampaignInvite.objects.values_list("merchant_id", flat=True)) == [named.pk]
