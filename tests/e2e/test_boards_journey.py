"""The Kanban boards in Chromium, wide (1280 px) and narrow (390 px): drag a merchant card to the next stage and find
it there after a reload, drag one to "terminated" and give the reason in the dialog, see a refused move snap back with
the server's message, move a card from the keyboard; the columns load 30 cards at a time; the ticket board the same
way, its gates refusing on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from merchants.models import LossReason, Merchant
from merchants.services.pipeline import merchant_create, merchant_move_stage
from ops_platform.core.roles import Role
from products.models import Ticket
from products.services.tickets import ticket_create
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in
from tests.factories import MerchantFactory

pytestmark = pytest.mark.browser

WIDTHS = [1280, 390]


def _drag(page, card_testid: str, column: str) -> None:
    """Drag a card onto the next column's cards with the mouse, as a person would: the board is scrolled so that the
    card's column is at its left edge, and the card is dropped on the part of the target column in view."""
    card = page.get_by_test_id(card_testid)
    card.evaluate("""(card, key) => {
        const board = card.closest('[data-board]');
        const columns = [card.closest('[data-column]'), board.querySelector('[data-column="' + key + '"]')];
        board.scrollLeft = Math.min(...columns.map(c => c.offsetLeft)) - board.offsetLeft; }""", column)
    source = card.bounding_box()
    target = page.get_by_test_id(f"col-{column}").locator("[data-cards]").bounding_box()
    viewport = page.viewport_size["width"]
    drop_x = min(target["x"] + 24, viewport - 8)
    page.mouse.move(min(source["x"] + 12, viewport - 8), source["y"] + 10)
    page.mouse.down()
    for step in range(1, 11):
        start_x = min(source["x"] + 12, viewport - 8)
        page.mouse.move(start_x + (drop_x - start_x) * step / 10, target["y"] + 20 * step / 10)
    page.mouse.up()


def _errors(page) -> list[str]:
    """Console errors, but for the refused moves' own 400 answers (the board shows them; Chromium logs them)."""
    return [error for error in page.console_errors if not ("status of 400" in error and "/moves/" in error)]


def _stage(code: str) -> str:
    return Merchant.objects.get(code=code).stage


def _no_page_scroll_sideways(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.mark.parametrize("width", WIDTHS)
def test_drag_lose_refuse_and_keyboard_on_the_merchant_board(page, live_server, make_staff, screenshot, width):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_board_ops")
    for code, name in (("B1", "Noodle House"), ("B2", "Tea Corner"), ("B3", "Dumpling Bar"), ("B4", "Bakery")):
        merchant = merchant_create(user=ops, code=code, name=name, category="food", city="Shanghai")
        path = {"B2": ["contacted", "negotiating", "signed", "paused"], "B3": ["contacted", "negotiating", "signed"]}
        for stage in path.get(code, []):
            merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage=stage)
    reason = LossReason.objects.create(name="Went to a competitor")
    page.set_viewport_size({"width": width, "height": 900})

    log_in(page, live_server, "e2e_board_ops", PASSWORD)
    page.goto(live_server.url + "/merchants/board/")
    expect(page.get_by_test_id("count-lead")).to_have_text("2")
    _no_page_scroll_sideways(page, width)

    # Drag to the next stage: persisted, and there after a reload.
    _drag(page, "card-B1", "contacted")
    expect(page.get_by_test_id("board-status")).to_have_text("B1 Noodle House moved to contacted.")
    expect(page.get_by_test_id("count-contacted")).to_have_text("1")
    expect(page.get_by_test_id("count-lead")).to_have_text("1")
    page.reload()
    expect(page.get_by_test_id("col-contacted").get_by_test_id("card-B1")).to_be_visible()
    assert _stage("B1") == "contacted"

    # Drag to "terminated": the dialog asks for the reason and what happened.
    _drag(page, "card-B2", "terminated")
    dialog = page.get_by_test_id("move-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Move B2 Tea Corner to terminated")
    page.get_by_test_id("dialog-move").click()  # nothing filled: the dialog says what is missing
    expect(dialog).to_contain_text("Required.")
    assert _stage("B2") == "paused"
    dialog.locator("select[name=reason]").select_option(str(reason.pk))
    dialog.locator("textarea[name=note]").fill("Signed with a competitor after two calls.")
    screenshot(page, f"board-merchants-loss-dialog-{width}")
    page.get_by_test_id("dialog-move").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("board-status")).to_have_text("B2 Tea Corner moved to terminated.")
    expect(page.get_by_test_id("col-terminated").get_by_test_id("card-B2")).to_be_visible()
    merchant = Merchant.objects.get(code="B2")
    assert (merchant.stage, merchant.loss_reason_id) == ("terminated", reason.pk)

    # A move the pipeline does not allow (signed back to negotiating) snaps back with the server's message.
    _drag(page, "card-B3", "negotiating")
    expect(page.get_by_test_id("board-status")).to_contain_text("B3 Dumpling Bar was not moved: A merchant cannot "
                                                                "move from this stage to that one.")
    expect(page.get_by_test_id("col-signed").get_by_test_id("card-B3")).to_be_visible()
    expect(page.get_by_test_id("card-B3").locator("[data-card-error]")).to_contain_text(
        "Allowed: live, paused, terminated.")
    expect(page.get_by_test_id("count-negotiating")).to_have_text("0")
    assert _stage("B3") == "signed"

    # From the keyboard: focus the card's menu, choose, the card moves and keeps the focus.
    menu = page.get_by_test_id("move-card-B4")
    menu.focus()
    menu.select_option("contacted")
    expect(page.get_by_test_id("board-status")).to_have_text("B4 Bakery moved to contacted.")
    expect(page.get_by_test_id("col-contacted").get_by_test_id("card-B4")).to_be_visible()
    assert page.evaluate("document.activeElement.dataset.testid") == "move-card-B4"
    expect(menu.locator("option")).to_have_text(["Move to…", "negotiating", "lead", "terminated"])
    assert _stage("B4") == "contacted"
    _no_page_scroll_sideways(page, width)
    screenshot(page, f"board-merchants-{width}")
    assert _errors(page) == []


def test_a_column_loads_30_cards_then_the_rest_on_scroll(page, live_server, make_staff):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_board_many")
    start = timezone.now() - timedelta(days=2)
    for i in range(35):
        MerchantFactory(code=f"P{i:03d}", owner=ops, stage="live", stage_changed_at=start + timedelta(minutes=i))

    log_in(page, live_server, "e2e_board_many", PASSWORD)
    page.goto(live_server.url + "/merchants/board/")
    column = page.get_by_test_id("col-live")
    expect(page.get_by_test_id("count-live")).to_have_text("35")
    expect(column.locator("[data-id]")).to_have_count(30)
    column.evaluate("node => node.scrollTop = node.scrollHeight")
    expect(column.locator("[data-id]")).to_have_count(35)
    expect(page.get_by_test_id("more-live")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollHeight") < 2000  # the column scrolls, not the page
    assert page.console_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_drag_and_refused_gate_on_the_ticket_board(page, live_server, make_staff, screenshot, width):
    pm = make_staff(Role.PM, username="e2e_board_pm")
    ops = make_staff(Role.USER_OPS, username="e2e_board_uops")
    fresh = ticket_create(requester=ops, title="Coupon pack on sign-up", owner_pm=pm)
    gated = ticket_create(requester=ops, title="Referral banner", owner_pm=pm)
    Ticket.objects.filter(pk=gated.pk).update(status="testing")
    page.set_viewport_size({"width": width, "height": 900})

    log_in(page, live_server, "e2e_board_pm", PASSWORD)
    page.goto(live_server.url + "/products/board/")
    _drag(page, f"card-{fresh.key}", "triaged")
    expect(page.get_by_test_id("board-status")).to_have_text(f"{fresh.key} Coupon pack on sign-up moved to triaged.")
    page.reload()
    expect(page.get_by_test_id("col-triaged").get_by_test_id(f"card-{fresh.key}")).to_be_visible()
    assert Ticket.objects.get(pk=fresh.pk).status == "triaged"

    _drag(page, f"card-{gated.key}", "ready_to_launch")
    expect(page.get_by_test_id("board-status")).to_contain_text("needs an approved tracking plan")
    expect(page.get_by_test_id("col-testing").get_by_test_id(f"card-{gated.key}")).to_be_visible()
    assert Ticket.objects.get(pk=gated.pk).status == "testing"
    _no_page_scroll_sideways(page, width)
    screenshot(page, f"board-tickets-{width}")
    assert _errors(page) == []
