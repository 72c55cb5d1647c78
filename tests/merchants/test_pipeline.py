import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from merchants import selectors
from merchants.models import LossReason, Merchant, MerchantContact, MerchantStageMove, StageSetting
from merchants.services.imports import merchants_import, merchants_report
from merchants.services.pipeline import (
    merchant_create,
    merchant_move_stage,
    merchant_reassign,
    merchant_update,
    recruitment_target_create,
)
from merchants.services.relationship import contact_log, follow_up_complete
from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role

pytestmark = pytest.mark.django_db


def _create(user, code="M90001", **extra):
    return merchant_create(user=user, code=code, name="Noodle House", category="food", city="Shanghai", **extra)


def test_an_operator_creates_a_lead_they_own_with_the_move_recorded(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)

    merchant = _create(ops, tags="late night, noodles", contact_phone="138")

    assert (merchant.stage, merchant.owner, merchant.tags) == ("lead", ops, ["late night", "noodles"])
    move = MerchantStageMove.objects.get(merchant=merchant)
    assert (move.from_stage, move.to_stage, move.moved_by) == ("", "lead", ops)


def test_a_duplicate_code_is_refused_with_a_field_error(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    _create(ops)

    with pytest.raises(ApplicationError) as exc:
        _create(ops)

    assert exc.value.errors == {"code": ["This code is taken."]}
    assert Merchant.objects.count() == 1


def test_an_analyst_cannot_create_a_merchant(make_staff):
    with pytest.raises(ApplicationError) as exc:
        _create(make_staff(Role.ANALYST))

    assert exc.value.status_code == 403
    assert Merchant.objects.count() == 0


def test_moving_along_the_pipeline_records_who_when_from_and_to(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)

    merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="contacted")
    merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="negotiating")
    move = merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="signed")

    merchant.refresh_from_db()
    assert merchant.stage == "signed"
    assert merchant.signed_at == move.moved_at
    assert merchant.contacted_at is not None and merchant.negotiating_at is not None
    assert list(MerchantStageMove.objects.filter(merchant=merchant).order_by("id")
                .values_list("from_stage", "to_stage")) == [
        ("", "lead"), ("lead", "contacted"), ("contacted", "negotiating"), ("negotiating", "signed")]


def test_skipping_stages_is_refused_and_nothing_changes(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)

    with pytest.raises(ApplicationError) as exc:
        merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="live")

    assert exc.value.errors == {"to_stage": ["Allowed: contacted, terminated."]}
    merchant.refresh_from_db()
    assert merchant.stage == "lead"
    assert MerchantStageMove.objects.filter(merchant=merchant).count() == 1


def test_terminating_needs_a_listed_reason_and_a_note(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)
    reason = LossReason.objects.create(name="Went to a competitor")

    with pytest.raises(ApplicationError) as no_reason:
        merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="terminated", note="x")
    with pytest.raises(ApplicationError) as no_note:
        merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="terminated", reason=reason.pk)
    merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage="terminated", reason=reason.pk,
                        note="Signed with the other platform")

    assert no_reason.value.errors == {"reason": ["Choose a reason."]}
    assert no_note.value.errors == {"note": ["Required."]}
    merchant.refresh_from_db()
    assert (merchant.stage, merchant.loss_reason, merchant.loss_note) == (
        "terminated", reason, "Signed with the other platform")


def test_another_operator_cannot_move_my_merchant_but_an_admin_can(make_staff):
    mine, other, admin = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS), make_staff(Role.ADMIN)
    merchant = _create(mine)

    with pytest.raises(ApplicationError) as exc:
        merchant_move_stage(user=other, merchant_id=merchant.pk, to_stage="contacted")
    merchant_move_stage(user=admin, merchant_id=merchant.pk, to_stage="contacted")

    assert exc.value.status_code == 403
    merchant.refresh_from_db()
    assert merchant.stage == "contacted"


def test_only_an_admin_reassigns_and_only_to_an_operator(make_staff):
    ops, other, admin = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS), make_staff(Role.ADMIN)
    merchant = _create(ops)

    with pytest.raises(ApplicationError) as refused:
        merchant_reassign(user=ops, merchant_ids=[merchant.pk], owner=other)
    with pytest.raises(ApplicationError) as not_ops:
        merchant_reassign(user=admin, merchant_ids=[merchant.pk], owner=make_staff(Role.ANALYST))
    changed = merchant_reassign(user=admin, merchant_ids=[merchant.pk], owner=other)

    assert (refused.value.status_code, not_ops.value.errors) == (403, {"owner": ["Not a merchant operator."]})
    assert changed == 1
    merchant.refresh_from_db()
    assert merchant.owner == other


def test_update_validates_fields(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)

    with pytest.raises(ApplicationError) as exc:
        merchant_update(user=ops, merchant_id=merchant.pk, name="")
    merchant_update(user=ops, merchant_id=merchant.pk, address="1 Long Road")

    assert list(exc.value.errors) == ["name"]
    merchant.refresh_from_db()
    assert (merchant.name, merchant.address) == ("Noodle House", "1 Long Road")


def test_stale_merchants_are_flagged_by_the_stage_setting(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    fresh, old = _create(ops, code="M1"), _create(ops, code="M2")
    Merchant.objects.filter(pk=old.pk).update(stage_changed_at=timezone.now() - timedelta(days=6))
    StageSetting.objects.create(stage="lead", stale_after_days=5)

    flags = dict(selectors.merchant_list().values_list("code", "is_stale"))

    assert flags == {"M1": False, "M2": True}
    assert [m.code for m in selectors.merchant_stale_for(user=ops)] == ["M2"]
    assert fresh.pk != old.pk


def test_my_follow_ups_due_today_and_overdue(make_staff):
    ops, other = make_staff(Role.MERCHANT_OPS), make_staff(Role.MERCHANT_OPS)
    merchant, theirs = _create(ops, code="M1"), _create(other, code="M2")
    today = timezone.localdate()
    due = contact_log(user=ops, merchant_id=merchant.pk, kind="visit", notes="menu", follow_up_on=today)
    late = contact_log(user=ops, merchant_id=merchant.pk, kind="call", follow_up_on=today)
    MerchantContact.objects.filter(pk=late.pk).update(follow_up_on=today - timedelta(days=2))
    contact_log(user=ops, merchant_id=merchant.pk, kind="call", follow_up_on=today + timedelta(days=1))
    contact_log(user=other, merchant_id=theirs.pk, kind="call", follow_up_on=today)

    due_list = selectors.follow_ups_due(user=ops)

    assert [c.pk for c in due_list["today"]] == [due.pk]
    assert [c.pk for c in due_list["overdue"]] == [late.pk]


def test_completing_a_follow_up_logs_the_contact_and_proposes_the_next(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)
    today = timezone.localdate()
    first = contact_log(user=ops, merchant_id=merchant.pk, kind="visit", follow_up_on=today)

    new = follow_up_complete(user=ops, contact_id=first.pk, kind="call", outcome="agreed to a trial",
                             next_follow_up_on=today + timedelta(days=7))

    first.refresh_from_db()
    assert first.follow_up_done_at == new.happened_at
    assert (new.kind, new.outcome, new.follow_up_on) == ("call", "agreed to a trial", today + timedelta(days=7))
    with pytest.raises(ApplicationError):
        follow_up_complete(user=ops, contact_id=first.pk, kind="call")


def test_a_follow_up_in_the_past_or_an_unknown_kind_is_refused(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops)

    with pytest.raises(ApplicationError) as past:
        contact_log(user=ops, merchant_id=merchant.pk, kind="visit",
                    follow_up_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ApplicationError) as kind:
        contact_log(user=ops, merchant_id=merchant.pk, kind="fax")

    assert (past.value.errors, kind.value.errors) == ({"follow_up_on": ["Today or later."]},
                                                      {"kind": ["Choose a kind from the list."]})
    assert MerchantContact.objects.count() == 0


def test_target_progress_counts_signed_merchants_of_the_category_and_city(make_staff):
    ops, admin = make_staff(Role.MERCHANT_OPS), make_staff(Role.ADMIN)
    today = timezone.localdate()
    recruitment_target_create(user=admin, period_start=today.replace(day=1), period_end=today + timedelta(days=30),
                              target=4, category="food", city="Shanghai")
    for code in ("M1", "M2", "M3"):
        merchant = _create(ops, code=code)
        for stage in ("contacted", "negotiating", "signed"):
            merchant_move_stage(user=ops, merchant_id=merchant.pk, to_stage=stage)
    merchant_create(user=ops, code="M4", name="x", category="drinks", city="Shanghai")

    progress = selectors.recruitment_target_progress()

    assert [(row["signed"], row["percent"]) for row in progress] == [(3, 75)]


def test_only_an_admin_sets_targets(make_staff):
    today = timezone.localdate()
    with pytest.raises(ApplicationError) as exc:
        recruitment_target_create(user=make_staff(Role.MERCHANT_OPS), period_start=today, period_end=today, target=1)
    assert exc.value.status_code == 403


def _csv(rows):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_import_csv_creates_every_row_owned_by_the_operator(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    data = _csv([["code", "name", "category", "city", "tags"], ["M1", "A", "food", "Shanghai", "a,b"],
                 ["M2", "B", "drinks", "Beijing", ""]])

    created = merchants_import(user=ops, filename="list.csv", data=data)

    assert created == 2
    assert list(Merchant.objects.values_list("code", "owner__username", "tags")) == [
        ("M1", ops.username, ["a", "b"]), ("M2", ops.username, [])]
    assert MerchantStageMove.objects.count() == 2


def test_import_with_bad_rows_imports_nothing_and_names_each_row(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    _create(ops, code="M0")
    data = _csv([["code", "name", "category", "city", "owner"], ["M1", "A", "food", "Shanghai", ""],
                 ["M0", "B", "food", "Shanghai", ""], ["M1", "", "food", "Shanghai", "nobody"]])

    with pytest.raises(ApplicationError) as exc:
        merchants_import(user=ops, filename="list.csv", data=data)

    assert exc.value.errors == {"rows": [
        {"row": 3, "errors": {"code": ["A merchant with this code exists."]}},
        {"row": 4, "errors": {"owner": ["No active staff member with this username."],
                              "code": ["Same code as row 2."], "name": ["This field cannot be blank."]}},
    ]}
    assert list(Merchant.objects.values_list("code", flat=True)) == ["M0"]


def test_import_xlsx_and_bad_files(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    workbook = Workbook()
    workbook.active.append(["code", "name", "category", "city"])
    workbook.active.append(["M7", "Seven", "food", "Hangzhou"])
    out = io.BytesIO()
    workbook.save(out)

    created = merchants_import(user=ops, filename="list.xlsx", data=out.getvalue())
    with pytest.raises(ApplicationError) as broken:
        merchants_import(user=ops, filename="list.xlsx", data=b"PK\x03\x04 not really")
    with pytest.raises(ApplicationError) as header:
        merchants_import(user=ops, filename="list.csv", data=_csv([["code", "nom"], ["M8", "x"]]))
    with pytest.raises(ApplicationError) as kind:
        merchants_import(user=ops, filename="list.pdf", data=b"%PDF")

    assert created == 1
    assert broken.value.errors == {"file": ["Upload a valid XLSX file."]}
    assert header.value.errors == {"columns": ["Missing columns: name, category, city.", "Unknown columns: nom."]}
    assert kind.value.errors == {"file": ["Upload a CSV or XLSX file."]}
    assert list(Merchant.objects.values_list("code", flat=True)) == ["M7"]


def test_export_csv_and_xlsx_quote_formulas(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    _create(ops, code="M1", contact_person="=cmd()")

    text = exports.csv_text(merchants_report(merchants=selectors.merchant_list()))
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(merchants_report(merchants=selectors.merchant_list())))).active

    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Code (code)", "Name (name)", "Category (category)", "Category name (category_label)"]
    assert rows[1][:12] == ["M1", "Noodle House", "food", "food", "Shanghai", "", "lead", "lead", "", "", "",
                            ops.username]
    assert rows[1][12] == "'=cmd()"
    assert [cell.value for cell in sheet[2]][:2] == ["M1", "Noodle House"]
    assert (sheet["M2"].value, sheet["M2"].data_type, sheet["M2"].quotePrefix) == ("=cmd()", "s", True)


def test_the_export_names_category_stage_and_tier_in_the_readers_language_beside_the_codes(make_staff):
    """A zh-hans export read "类别 (category)" over "food": each code keeps its column (scripts and the import read
    it) and its name in the reader's language stands in the column beside it, as the tiers report writes them; a
    category typed by hand is its own name."""
    ops = make_staff(Role.MERCHANT_OPS)
    merchant = _create(ops, code="M1")
    Merchant.objects.filter(pk=merchant.pk).update(stage="live", tier="core")
    merchant_create(user=ops, code="M2", name="Tea Corner", category="bubble tea", city="Shanghai")

    with translation.override("zh-hans"):
        lines = exports.csv_lines(merchants_report(merchants=selectors.merchant_list().order_by("code")))
    text = "".join(lines)  # the rows stream after the request's language is gone: their names were fixed at the start
    with translation.override("zh-hans"):
        sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(merchants_report(
            merchants=selectors.merchant_list().order_by("code"))))).active

    header, *rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    codes = [exports.header_code(cell) for cell in header]  # what a script keys on
    picked = [tuple(row[codes.index(key)] for key in (
        "category", "category_label", "stage", "stage_label", "tier", "tier_label")) for row in rows]
    assert picked == [("food", "餐饮", "live", "已上线", "core", "核心"),
                      ("bubble tea", "bubble tea", "lead", "线索", "", "")]
    assert [header[codes.index(key)] for key in ("category", "stage", "stage_label", "tier", "tier_label")] == [
        "类别 (category)", "阶段 (stage)", "阶段名称 (stage_label)", "层级 (tier)", "层级名称 (tier_label)"]
    sheet_codes = [exports.header_code(cell.value) for cell in sheet[1]]
    assert [[cell.value for cell in sheet[2]][sheet_codes.index(key)] for key in (
        "category", "category_label", "stage", "stage_label", "tier", "tier_label")] == [
        "food", "餐饮", "live", "已上线", "core", "核心"]


def test_an_exported_header_imports_again(make_staff):
    ops = make_staff(Role.MERCHANT_OPS)
    text = exports.csv_text(merchants_report(merchants=selectors.merchant_list()))
    header = text.lstrip("\ufeff").splitlines()[0].split(",")[:5]  # code, name, category, its name, city

    created = merchants_import(user=ops, filename="list.csv",
                               data=_csv([header, ["M9", "Tea Shop", "food", "餐饮", "Shanghai"]]))

    assert created == 1
    assert Merchant.objects.get(code="M9").name == "Tea Shop"
