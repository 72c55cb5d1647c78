"""The merchant pipeline board: columns of 30 cards with their counts, the next page as JSON, and moves through the
merchant move API (the service the move form calls) as the board's script posts them: a session with its CSRF token."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from merchants.models import LossReason, Merchant, MerchantContact, MerchantStageMove
from merchants.services.pipeline import merchant_create
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def _board_client(user) -> Client:
    """A browser-like session: CSRF enforced, the token sent in the header as board.js does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/merchants/board/")
    return client


def _move(client: Client, merchant_id: int, **body):
    return client.post(f"/api/v1/merchants/{merchant_id}/moves/", body, content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value, HTTP_ACCEPT="application/json")


def _leads(owner, n: int, prefix: str = "L") -> list[Merchant]:
    start = timezone.now() - timedelta(days=3)
    return [MerchantFactory(code=f"{prefix}{i:03d}", owner=owner, stage="lead",
                            stage_changed_at=start + timedelta(minutes=i)) for i in range(n)]


# Columns and pages


def test_each_column_shows_30_cards_its_count_and_a_next_page(client_for, make_staff):
    _leads(make_staff(Role.MERCHANT_OPS), 35)
    MerchantFactory(code="T1", stage="terminated", stage_changed_at=timezone.now())
    client = client_for(Role.ANALYST)

    columns = client.get("/merchants/board/").context["columns"]

    assert [(c.key, c.count, len(c.cards)) for c in columns] == [
        ("lead", 35, 30), ("contacted", 0, 0), ("negotiating", 0, 0), ("signed", 0, 0), ("live", 0, 0),
        ("paused", 0, 0), ("terminated", 1, 1)]
    assert [card.testid for card in columns[0].cards[:2]] == ["card-L000", "card-L001"]  # longest in stage first
    assert columns[0].more_url == "/merchants/board/column/?stage=lead&offset=30"
    assert columns[6].more_url == ""


def test_the_next_page_is_json_with_the_rest_of_the_column(client_for, make_staff):
    _leads(make_staff(Role.MERCHANT_OPS), 35)
    client = client_for(Role.ANALYST)

    response = client.get("/merchants/board/column/", {"stage": "lead", "offset": 30})
    body = response.json()

    assert response.status_code == 200
    assert (body["count"], body["shown"], body["next"]) == (35, 5, "")
    assert [f"card-L0{i}" for i in range(30, 35)] == [
        part.split('"')[0] for part in body["html"].split('data-testid="')[1:] if part.startswith("card-")]


def test_mine_only_pages_the_viewers_merchants(client_for, make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    _leads(ops, 2, prefix="A")
    _leads(make_staff(Role.MERCHANT_OPS), 3, prefix="B")
    client = Client()
    client.force_login(ops)

    body = client.get("/merchants/board/column/", {"stage": "lead", "mine": "1"}).json()
    page = client.get("/merchants/board/?mine=1").context["columns"][0]

    assert (body["count"], page.count) == (2, 2)
    assert "card-A000" in body["html"] and "card-B000" not in body["html"]


def test_bad_column_input_is_a_400_with_field_errors(client_for):
    client = client_for(Role.ANALYST)

    response = client.get("/merchants/board/column/", {"stage": "nowhere", "offset": "-3"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"stage", "offset"}
    assert client.get("/merchants/board/column/", {"offset": "x"}).status_code == 400  # stage missing, offset bad


def test_column_pages_query_count_does_not_grow_with_cards(client_for, make_staff, django_assert_num_queries):
    """Owner and next follow-up come with the merchants (a join and a subquery), not one query per card."""
    ops = make_staff(Role.MERCHANT_OPS)
    for merchant in _leads(ops, 3):
        MerchantContact.objects.create(merchant=merchant, kind="call", happened_at=timezone.now(),
                                       follow_up_on=timezone.localdate() + timedelta(days=2))
    client = client_for(Role.ANALYST)
    client.get("/merchants/board/column/", {"stage": "lead"})
    with django_assert_num_queries(6):  # session, user, roles, stage settings, count, page
        client.get("/merchants/board/column/", {"stage": "lead"})
    for merchant in _leads(make_staff(Role.MERCHANT_OPS), 30, prefix="Q"):
        MerchantContact.objects.create(merchant=merchant, kind="visit", happened_at=timezone.now(),
                                       follow_up_on=timezone.localdate())
    with django_assert_num_queries(6):
        response = client.get("/merchants/board/column/", {"stage": "lead", "offset": 3})
    with django_assert_num_queries(6):
        client.get("/merchants/board/")

    assert response.json()["shown"] == 30


def test_cards_show_owner_follow_up_overdue_expected_gmv_and_stale(client_for, make_staff):
    ops = make_staff(Role.MERCHANT_OPS, username="owner_amy")
    today = timezone.localdate()
    late, soon = _leads(ops, 2)
    late.expected_monthly_gmv = Decimal("125000.00")
    late.stage_changed_at = timezone.now() - timedelta(days=40)  # leads go stale after 14 days
    late.save()
    MerchantContact.objects.create(merchant=late, kind="call", happened_at=timezone.now(),
                                   follow_up_on=today - timedelta(days=1))
    MerchantContact.objects.create(merchant=late, kind="call", happened_at=timezone.now(),
                                   follow_up_on=today - timedelta(days=9), follow_up_done_at=timezone.now())
    MerchantContact.objects.create(merchant=soon, kind="call", happened_at=timezone.now(),
                                   follow_up_on=today + timedelta(days=3))

    html = client_for(Role.ANALYST).get("/merchants/board/").content.decode()
    late_card = html.split('data-testid="card-L000"')[1].split("</article>")[0]
    soon_card = html.split('data-testid="card-L001"')[1].split("</article>")[0]

    assert "owner_amy" in late_card
    assert f"follow-up {today - timedelta(days=1):%Y-%m-%d}, overdue" in late_card
    assert 'class="small overdue"' in late_card
    assert "expected GMV 125,000/month" in late_card
    assert "stale:" in late_card
    assert f"follow-up {today + timedelta(days=3):%Y-%m-%d}" in soon_card
    assert "overdue" not in soon_card and "expected GMV" not in soon_card and "stale:" not in soon_card


def test_only_cards_the_viewer_may_move_get_a_move_menu(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    _leads(ops, 1, prefix="MINE")
    _leads(make_staff(Role.MERCHANT_OPS), 1, prefix="THEIRS")
    client = Client()
    client.force_login(ops)

    columns = client.get("/merchants/board/").context["columns"]
    html = client.get("/merchants/board/").content.decode()

    assert {card.testid: card.moves for card in columns[0].cards} == {
        "card-MINE000": [("contacted", "contacted"), ("terminated", "terminated")], "card-THEIRS000": []}
    assert 'data-testid="move-card-MINE000"' in html and 'data-testid="move-card-THEIRS000"' not in html


# Moves, as the board posts them


def test_the_owner_moves_a_card(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="N1", name="Noodle House", category="food", city="Shanghai")

    response = _move(_board_client(ops), merchant.pk, to_stage="contacted")

    assert response.status_code == 201
    assert Merchant.objects.get(pk=merchant.pk).stage == "contacted"
    assert list(MerchantStageMove.objects.filter(merchant=merchant).values_list("to_stage", flat=True)) == [
        "contacted", "lead"]


def test_a_refused_move_answers_the_services_message_and_changes_nothing(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="N1", name="Noodle House", category="food", city="Shanghai")

    response = _move(_board_client(ops), merchant.pk, to_stage="live")

    assert response.status_code == 400
    assert response.json()["message"] == "A merchant cannot move from this stage to that one."
    assert response.json()["errors"] == {"to_stage": ["Allowed: contacted, terminated."]}
    assert Merchant.objects.get(pk=merchant.pk).stage == "lead"
    assert MerchantStageMove.objects.filter(merchant=merchant).count() == 1


def test_losing_a_merchant_needs_a_reason_and_a_note(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="N1", name="Noodle House", category="food", city="Shanghai")
    reason = LossReason.objects.create(name="closed down")
    client = _board_client(ops)

    without = _move(client, merchant.pk, to_stage="terminated")
    no_note = _move(client, merchant.pk, to_stage="terminated", reason=reason.pk)
    with_both = _move(client, merchant.pk, to_stage="terminated", reason=reason.pk, note="The owner retired.")

    assert (without.status_code, without.json()["errors"]) == (400, {"reason": ["Choose a reason."]})
    assert (no_note.status_code, no_note.json()["errors"]) == (400, {"note": ["Required."]})
    assert with_both.status_code == 201
    merchant.refresh_from_db()
    assert (merchant.stage, merchant.loss_reason, merchant.loss_note) == ("terminated", reason, "The owner retired.")


@pytest.mark.parametrize("role", [Role.ANALYST, Role.PM, Role.MERCHANT_OPS])
def test_a_role_or_person_that_may_not_move_it_gets_a_403_and_nothing_changes(make_staff, role):
    owner = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=owner, code="N1", name="Noodle House", category="food", city="Shanghai")

    response = _move(_board_client(make_staff(role)), merchant.pk, to_stage="contacted")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Merchant.objects.get(pk=merchant.pk).stage == "lead"


def test_bad_move_input_is_a_400_with_field_errors(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="N1", name="Noodle House", category="food", city="Shanghai")

    response = _move(_board_client(ops), merchant.pk, to_stage="nowhere", reason="x")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"to_stage", "reason"}
    assert Merchant.objects.get(pk=merchant.pk).stage == "lead"


def test_a_move_without_the_csrf_token_is_refused(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="N1", name="Noodle House", category="food", city="Shanghai")
    client = _board_client(ops)

    response = client.post(f"/api/v1/merchants/{merchant.pk}/moves/", {"to_stage": "contacted"},
                           content_type="application/json")

    assert response.status_code == 403
    assert Merchant.objects.get(pk=merchant.pk).stage == "lead"


def test_the_board_config_names_the_move_api_and_the_loss_dialog(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    reason = LossReason.objects.create(name="closed down")
    LossReason.objects.create(name="retired reason", active=False)
    client = Client()
    client.force_login(ops)

    board = client.get("/merchants/board/").context["board"]

    assert (board["move_url"], board["move_field"]) == ("/api/v1/merchants/0/moves/", "to_stage")
    assert [need["name"] for need in board["needs"]["terminated"]] == ["reason", "note"]
    assert board["needs"]["terminated"][0]["options"] == [[str(reason.pk), "closed down"]]
    assert board["moves"]["lead"] == [["contacted", "contacted"], ["terminated", "terminated"]]


# Expected monthly GMV


def test_expected_gmv_is_set_on_the_new_merchant_form_and_shown_and_exported(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    client = Client()
    client.force_login(ops)

    response = client.post("/merchants/new/", {"code": "G1", "name": "Grill", "category": "food", "city": "Shanghai",
                                               "expected_monthly_gmv": "80000.50"})
    merchant = Merchant.objects.get(code="G1")
    detail = client.get(f"/merchants/{merchant.pk}/").content.decode()
    export = b"".join(client.get("/merchants/export/").streaming_content).decode("utf-8-sig")

    assert response.status_code == 302
    assert merchant.expected_monthly_gmv == Decimal("80000.50")
    assert 'data-testid="expected-gmv">80,000.50<' in detail
    assert export.splitlines()[0].endswith("Expected monthly GMV (expected_monthly_gmv)")
    assert export.splitlines()[1].endswith(",80000.50")


def test_expected_gmv_in_the_api_and_its_bounds(api_client_for):
    client = api_client_for(Role.MERCHANT_OPS)

    created = client.post("/api/v1/merchants/", {"code": "G1", "name": "Grill", "category": "food",
                                                 "city": "Shanghai", "expected_monthly_gmv": "1200"}, format="json")
    negative = client.patch(f"/api/v1/merchants/{created.json()['id']}/", {"expected_monthly_gmv": "-5"},
                            format="json")
    cleared = client.patch(f"/api/v1/merchants/{created.json()['id']}/", {"expected_monthly_gmv": None},
                           format="json")

    assert (created.status_code, created.json()["expected_monthly_gmv"]) == (201, "1200.00")
    assert (negative.status_code, set(negative.json()["errors"])) == (400, {"expected_monthly_gmv"})
    assert (cleared.status_code, cleared.json()["expected_monthly_gmv"]) == (200, None)


def test_the_owner_edits_the_expected_gmv_on_the_merchant_form(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = merchant_create(user=ops, code="G1", name="Grill", category="food", city="Shanghai")
    client = Client()
    client.force_login(ops)
    fields = {"name": "Grill & Bar", "category": "food", "city": "Shanghai", "expected_monthly_gmv": "45000"}

    form = client.get(f"/merchants/{merchant.pk}/edit/")
    bad = client.post(f"/merchants/{merchant.pk}/edit/", {**fields, "expected_monthly_gmv": "-1"})
    saved = client.post(f"/merchants/{merchant.pk}/edit/", fields)

    assert form.status_code == 200 and 'name="code"' not in form.content.decode()
    assert bad.status_code == 400 and 'data-testid="error-expected_monthly_gmv"' in bad.content.decode()
    assert saved.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.name, merchant.expected_monthly_gmv) == ("Grill & Bar", Decimal("45000.00"))
    assert 'data-testid="edit-merchant"' in client.get(f"/merchants/{merchant.pk}/").content.decode()


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MERCHANT_OPS])
def test_someone_elses_merchant_cannot_be_edited(make_staff, role):
    merchant = merchant_create(user=make_staff(Role.MERCHANT_OPS), code="G1", name="Grill", category="food",
                               city="Shanghai")
    client = Client()
    client.force_login(make_staff(role))

    response = client.post(f"/merchants/{merchant.pk}/edit/", {"name": "Taken", "category": "food",
                                                               "city": "Shanghai", "expected_monthly_gmv": "1"})

    assert response.status_code == 403
    merchant.refresh_from_db()
    assert (merchant.name, merchant.expected_monthly_gmv) == ("Grill", None)
