"""A follow-up's "Done" (on the desk and on the merchants' to-do list) asks for the kind of contact instead of logging
a default one: no kind is preselected, the select is required, and a post without one is refused with a message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import MerchantContact
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

DONE_URLS = {"desk": "/desk/follow-ups/{pk}/done/", "todo": "/merchants/follow-ups/{pk}/done/"}
PAGES = {"desk": "/", "todo": "/merchants/todo/"}


def _due(merchant):
    return MerchantContact.objects.create(merchant=merchant, kind=MerchantContact.Kind.CALL, notes="Call back",
                                          happened_at=timezone.now() - timedelta(days=10),
                                          follow_up_on=timezone.localdate())


@pytest.fixture
def operator(client_for):
    client = client_for(Role.MERCHANT_OPS)
    merchant = MerchantFactory(owner_id=client.session["_auth_user_id"], code="M00001")
    return client, _due(merchant)


@pytest.mark.parametrize("where", ["desk", "todo"])
def test_the_done_form_preselects_no_kind_and_requires_one(operator, where):
    client, due = operator
    body = client.get(PAGES[where]).content.decode()
    form = body.split(f'action="{DONE_URLS[where].format(pk=due.pk)}"')[1].split("</form>")[0]
    select = form.split("<select")[1].split("</select>")[0]

    assert " required" in select
    assert '<option value="" selected disabled>How did you follow up?</option>' in select
    assert select.count("selected") == 1


@pytest.mark.parametrize("where", ["desk", "todo"])
@pytest.mark.parametrize(("language", "expected"), [("en", "Choose how you followed up"),
                                                    ("zh-hans", "请选择跟进方式")])
def test_done_without_a_kind_is_refused_with_a_message(operator, where, language, expected):
    client, due = operator
    response = client.post(DONE_URLS[where].format(pk=due.pk), {"outcome": "Menu updated"}, follow=True,
                           headers={"accept-language": language})

    assert expected in response.content.decode()
    due.refresh_from_db()
    assert due.follow_up_done_at is None
    assert MerchantContact.objects.count() == 1


@pytest.mark.parametrize("where", ["desk", "todo"])
def test_done_with_the_chosen_kind_logs_that_kind(operator, where):
    client, due = operator
    client.post(DONE_URLS[where].format(pk=due.pk), {"kind": "message"})

    due.refresh_from_db()
    assert due.follow_up_done_at is not None
    assert MerchantContact.objects.order_by("-pk").first().kind == "message"
