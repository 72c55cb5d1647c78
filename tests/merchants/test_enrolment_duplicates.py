"""A merchant takes a course once: a second enrolment (the same session or another session of the course) is refused
with a message, by the service, the API and the page's picker; one absent from a session may take a later one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import Enrolment
from merchants.selectors import merchant_enrollable
from merchants.services.training import (
    course_create,
    training_attendance_mark,
    training_enrol,
    training_session_create,
)
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def _sessions(ops, n=2):
    course = course_create(user=ops, code="C1", name="Basics")
    start = timezone.now()
    return [training_session_create(user=ops, course=course, starts_at=start + timedelta(days=7 * i), trainer="Li",
                                    online=True) for i in range(n)]


def test_enrolling_twice_in_one_course_is_refused_with_a_message(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant, other = MerchantFactory(owner=ops, code="M00001"), MerchantFactory(owner=ops, code="M00002")
    first, second = _sessions(ops)
    training_enrol(user=ops, session_id=first.pk, merchant_ids=[merchant.pk])

    with pytest.raises(ApplicationError) as same_session:
        training_enrol(user=ops, session_id=first.pk, merchant_ids=[merchant.pk, other.pk])
    with pytest.raises(ApplicationError) as other_session:
        training_enrol(user=ops, session_id=second.pk, merchant_ids=[other.pk, merchant.pk])

    day = timezone.localtime(first.starts_at).strftime("%Y-%m-%d")
    for refused in (same_session.value, other_session.value):
        assert refused.status_code == 400 and refused.code == "already_enrolled"
        assert refused.message == "Some merchants are already enrolled in this course."
        assert refused.errors == {"merchants": [f"Already enrolled: M00001 ({day})."]}
    assert list(Enrolment.objects.values_list("merchant__code", "session_id")) == [("M00001", first.pk)]


def test_a_merchant_absent_from_a_session_may_take_a_later_one(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = MerchantFactory(owner=ops)
    first, second = _sessions(ops)
    training_enrol(user=ops, session_id=first.pk, merchant_ids=[merchant.pk])
    training_attendance_mark(user=ops, session_id=first.pk, attended={merchant.pk: False})

    assert list(merchant_enrollable(user=ops, session_id=second.pk)) == [merchant]
    assert training_enrol(user=ops, session_id=second.pk, merchant_ids=[merchant.pk]) == 1
    assert list(merchant_enrollable(user=ops, session_id=first.pk)) == []  # its own session stays taken


def test_the_picker_leaves_out_merchants_enrolled_in_the_course(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    enrolled, free = MerchantFactory(owner=ops, code="A1"), MerchantFactory(owner=ops, code="B1")
    first, second = _sessions(ops)
    training_enrol(user=ops, session_id=first.pk, merchant_ids=[enrolled.pk])
    other_course = course_create(user=ops, code="C2", name="Photos")
    elsewhere = training_session_create(user=ops, course=other_course, starts_at=timezone.now(), trainer="Li",
                                        online=True)

    assert list(merchant_enrollable(user=ops, session_id=second.pk)) == [free]
    assert list(merchant_enrollable(user=ops, session_id=elsewhere.pk)) == [enrolled, free]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_api_answers_a_duplicate_with_400_and_the_message(api_client_for, make_staff, language):
    client = api_client_for(Role.ADMIN)
    admin = make_staff(Role.ADMIN)
    merchant = MerchantFactory(owner=admin, code="M00001")
    first, second = _sessions(admin)
    training_enrol(user=admin, session_id=first.pk, merchant_ids=[merchant.pk])

    response = client.post(f"/api/v1/merchants/sessions/{second.pk}/enrol/", {"merchants": [merchant.pk]},
                           format="json", headers={"accept-language": language})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "already_enrolled"
    assert "M00001" in body["errors"]["merchants"][0]
    expected = "Some merchants are already enrolled in this course." if language == "en" else "已报名此课程"
    assert expected in body["message"]
