"""Import merchants from CSV or XLSX (all rows or none, with row-level errors) and export merchant lists (through the
project's one export writer, ``ops_platform.core.exports``, which neutralises formulas)."""

from __future__ import annotations

import csv
import io

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from merchants.models import Merchant, MerchantStageMove
from merchants.services.pipeline import merchant_build
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.exports import DATETIME, HEADER_BOTH, INT, MONEY, Column, ExportTable, Report, header_code
from ops_platform.core.labels import VOCABULARIES, code_label
from ops_platform.core.roles import Action, Area, Role, can, roles_of

COLUMNS = ("code", "name", "category", "city", "district", "address", "contact_person", "contact_phone", "source",
           "tags", "owner", "expected_monthly_gmv")
REQUIRED = ("code", "name", "category", "city")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
# The export writes a code's label in the reader's language in a column of its own beside the code, as the tiers
# report does (``tier`` and ``tier_label`` "Tier name"): scripts and the import read the code, people the name.
LABEL_COLUMNS = ("category_label", "stage_label", "tier_label")
EXPORT_COLUMNS = [
    Column("code", gettext_lazy("Code")), Column("name", gettext_lazy("Name")),
    Column("category", gettext_lazy("Category")), Column("category_label", gettext_lazy("Category name")),
    Column("city", gettext_lazy("City")),
    Column("district", gettext_lazy("District")), Column("stage", gettext_lazy("Stage")),
    Column("stage_label", gettext_lazy("Stage name")),
    Column("tier", gettext_lazy("Tier")), Column("tier_label", gettext_lazy("Tier name")),
    Column("health_score", gettext_lazy("Health score"), INT),
    Column("owner", gettext_lazy("Owner")), Column("contact_person", gettext_lazy("Contact person")),
    Column("contact_phone", gettext_lazy("Contact phone")), Column("source", gettext_lazy("Source")),
    Column("tags", gettext_lazy("Tags")), Column("created_at", gettext_lazy("Created"), DATETIME),
    Column("expected_monthly_gmv", gettext_lazy("Expected monthly GMV"), MONEY),
]


def _rows_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(_("The file is not UTF-8 text."), errors={"file": [_("Save it as UTF-8 CSV.")]}) from exc
    if "\x00" in text:
        raise ApplicationError(_("The file is not a CSV file."), errors={"file": [_("Upload a CSV or XLSX file.")]})
    return list(csv.reader(io.StringIO(text)))


def _rows_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        rows = [["" if cell is None else str(cell).strip() for cell in row]
                for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise ApplicationError(_("The XLSX file cannot be read."), errors={"file": [_("Upload a valid XLSX file.")]}) \
            from exc
    return rows


def merchants_import(*, user, filename: str, data: bytes) -> int:
    """Create every merchant of the file, or none: any bad row refuses the whole file with row-level errors.

    The first row names the columns (``code, name, category, city`` required; also district, address,
    contact_person, contact_phone, source, tags (comma-separated), owner (username; admins only),
    expected_monthly_gmv (a number, may be empty)).
    """
    if not can(user, Area.MERCHANTS, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")
    if len(data) > MAX_BYTES:
        raise ApplicationError(_("The file is too large."), errors={"file": [_("At most 5 MB.")]})
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK"):
            raise ApplicationError(_("The XLSX file cannot be read."),
                                   errors={"file": [_("Upload a valid XLSX file.")]})
        rows = _rows_xlsx(data)
    elif name.endswith(".csv"):
        rows = _rows_csv(data)
    else:
        raise ApplicationError(_("Upload a CSV or XLSX file."), errors={"file": [_("Upload a CSV or XLSX file.")]})
    rows = [row for row in rows if any((cell or "").strip() for cell in row)]
    if not rows:
        raise ApplicationError(_("The file is empty."), errors={"file": [_("The file has no rows.")]})
    header = [header_code(cell or "").lower() for cell in rows[0]]  # "Code (code)", as exported, reads "code"
    header = ["" if column in LABEL_COLUMNS else column for column in header]  # the export's names: the code decides
    missing = [column for column in REQUIRED if column not in header]
    unknown = [column for column in header if column and column not in COLUMNS]
    if missing or unknown:
        errors = {}
        if missing:
            errors["columns"] = [_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)}]
        if unknown:
            errors.setdefault("columns", []).append(
                _("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
        raise ApplicationError(_("The header row is wrong."), errors=errors)
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise ApplicationError(_("Too many rows."), errors={"file": [_("At most 5000 rows.")]})
    usernames = {(row[header.index("owner")] if "owner" in header and header.index("owner") < len(row) else "")
                 .strip() for row in body} - {""}
    owners = {staff.username: staff for staff in get_user_model().objects.filter(username__in=usernames,
                                                                                is_active=True)}
    may_assign = can(user, Area.MERCHANT_ASSIGN, Action.CHANGE)
    default_owner = user if Role.MERCHANT_OPS in roles_of(user) else None
    existing = set(Merchant.objects.filter(code__in=[
        row[header.index("code")].strip() for row in body if header.index("code") < len(row)]).values_list(
        "code", flat=True))
    seen: dict[str, int] = {}
    merchants, row_errors = [], []
    for number, row in enumerate(body, start=2):
        values = {column: (row[i] if i < len(row) else "") or "" for i, column in enumerate(header) if column}
        errors: dict[str, list[str]] = {}
        owner_name = values.pop("owner", "").strip()
        owner = default_owner
        if owner_name:
            owner = owners.get(owner_name)
            if owner is None:
                errors["owner"] = [_("No active staff member with this username.")]
            elif owner != user and not may_assign:
                errors["owner"] = [_("Only an administrator may assign a merchant to someone else.")]
        code = values.get("code", "").strip()
        if code in existing:
            errors["code"] = [_("A merchant with this code exists.")]
        elif code and code in seen:
            errors["code"] = [_("Same code as row %(row)d.") % {"row": seen[code]}]
        seen.setdefault(code, number)
        try:
            merchant = merchant_build(owner=owner, **values)
        except ApplicationError as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(field, []).extend(messages if isinstance(messages, list) else [messages])
        if errors:
            row_errors.append({"row": number, "errors": errors})
        else:
            merchants.append(merchant)
    if row_errors:
        raise ApplicationError(_("Nothing was imported: some rows have errors."), errors={"rows": row_errors},
                               code="import_rejected")
    with transaction.atomic():
        created = Merchant.objects.bulk_create(merchants, batch_size=500)
        MerchantStageMove.objects.bulk_create([
            MerchantStageMove(merchant=merchant, from_stage="", to_stage=merchant.stage, moved_by=user,
                              moved_at=merchant.stage_changed_at, note="CSV/XLSX") for merchant in created])
    return len(created)


def _export_labels() -> dict[str, dict[str, str]]:
    """Each code's label in the active language, resolved when the file starts (the rows stream later, when the
    request's language may be gone): categories and tiers from their vocabularies (ops_platform/core/labels.py: a
    category typed by hand stays as typed), stages from their choices."""
    return {"category": {code: code_label("merchant_category", code) for code in VOCABULARIES["merchant_category"]},
            "stage": {code: str(label) for code, label in Merchant.Stage.choices},
            "tier": {code: code_label("tier", code) for code in VOCABULARIES["tier"]}}


def _export_values(merchant: Merchant, labels: dict[str, dict[str, str]]) -> list:
    return [merchant.code, merchant.name, merchant.category,
            labels["category"].get(merchant.category, merchant.category), merchant.city, merchant.district,
            merchant.stage, labels["stage"].get(merchant.stage, merchant.stage), merchant.tier,
            labels["tier"].get(merchant.tier, merchant.tier) if merchant.tier else "", merchant.health_score,
            merchant.owner.username if merchant.owner else "", merchant.contact_person, merchant.contact_phone,
            merchant.source, ",".join(merchant.tags or []), merchant.created_at, merchant.expected_monthly_gmv]


def merchants_report(*, merchants) -> Report:
    """A merchant list (a selector's queryset, owner joined) as a report for the export writer: headers
    ``Label (code)`` (the import reads the codes back), category, stage and tier as their code and, beside it, their
    name in the reader's language; streamed from the database."""
    labels = _export_labels()
    rows = (_export_values(merchant, labels) for merchant in merchants.iterator(chunk_size=2000))
    return Report(name="merchants", header=HEADER_BOTH,
                  tables=[ExportTable(title=gettext_lazy("Merchants"), columns=EXPORT_COLUMNS, rows=rows)])
