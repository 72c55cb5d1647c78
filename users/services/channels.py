"""Channel spend: entered one period at a time or imported from CSV/XLSX (valid rows kept, bad rows reported)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal, InvalidOperation

import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ops_platform.core.exceptions import ApplicationError
from users.models import ChannelSpend

IMPORT_COLUMNS = ("channel", "period_start", "period_end", "amount")
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def channel_spend_save(*, channel: str, period_start: date, period_end: date, amount: Decimal,
                       note: str = "") -> ChannelSpend:
    """Create or replace the spend of a channel for a period (unique on channel + period)."""
    spend = ChannelSpend.objects.filter(channel=channel, period_start=period_start, period_end=period_end).first()
    spend = spend or ChannelSpend(channel=channel, period_start=period_start, period_end=period_end)
    spend.amount, spend.note = amount, note
    spend.full_clean(validate_unique=False)
    spend.save()
    return spend


def channel_spend_delete(*, spend_id: int) -> None:
    deleted, _unused = ChannelSpend.objects.filter(pk=spend_id).delete()
    if not deleted:
        raise ApplicationError(_("No such spend entry."), status_code=404, code="not_found")


def _read_table(*, content: bytes, filename: str) -> pd.DataFrame:
    if len(content) > MAX_IMPORT_BYTES:
        raise ApplicationError(_("The file is too large (2 MB at most)."), errors={"file": [_("Too large.")]})
    try:
        if filename.lower().endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(content), dtype=str, engine="openpyxl")
        elif filename.lower().endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
        else:
            raise ApplicationError(_("Upload a .csv or .xlsx file."), errors={"file": [_("Unsupported type.")]})
    except ApplicationError:
        raise
    except Exception as error:  # a broken file of either kind
        raise ApplicationError(_("The file could not be read."), errors={"file": [str(error)[:200]]}) from error
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in IMPORT_COLUMNS if column not in frame.columns]
    if missing:
        raise ApplicationError(_("Columns are missing."), errors={"file": [", ".join(missing)]})
    if len(frame) > MAX_IMPORT_ROWS:
        raise ApplicationError(_("Too many rows."), errors={"file": [_("5000 rows at most.")]})
    return frame.fillna("")


def _row_errors(row) -> tuple[dict, ChannelSpend | None]:
    errors: dict[str, list[str]] = {}
    values = {}
    channel = str(row["channel"]).strip()
    if not channel or len(channel) > 100:
        errors["channel"] = [_("Give a channel name (100 characters at most).")]
    for field in ("period_start", "period_end"):
        try:
            values[field] = date.fromisoformat(str(row[field]).strip()[:10])
        except ValueError:
            errors[field] = [_("Use a date as YYYY-MM-DD.")]
    try:
        amount = Decimal(str(row["amount"]).strip())
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
            raise InvalidOperation
        values["amount"] = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors["amount"] = [_("Give a non-negative amount.")]
    if errors:
        return errors, None
    spend = ChannelSpend(channel=channel, note=str(row.get("note", ""))[:200], **values)
    try:
        spend.full_clean(validate_unique=False, exclude=["created_at"])
    except ValidationError as error:
        return error.message_dict, None
    return {}, spend


def channel_spend_import(*, content: bytes, filename: str) -> dict:
    """Import spend rows; valid rows are upserted on (channel, period), bad rows are returned with their errors.

    Rows are numbered as in a spreadsheet (the header is row 1)."""
    frame = _read_table(content=content, filename=filename)
    valid: dict[tuple, ChannelSpend] = {}
    rejected = []
    for number, row in enumerate(frame.to_dict("records"), start=2):
        errors, spend = _row_errors(row)
        if errors:
            rejected.append({"row": number, "errors": errors})
        else:
            valid[(spend.channel, spend.period_start, spend.period_end)] = spend
    ChannelSpend.objects.bulk_create(list(valid.values()), update_conflicts=True,
                                     unique_fields=["channel", "period_start", "period_end"],
                                     update_fields=["amount", "note"])
    return {"imported": len(valid), "rejected": rejected}
