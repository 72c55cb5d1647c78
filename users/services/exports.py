"""Customer lists as files (the customer list, a segment's members, a campaign's codes), through the project's one
export writer (``ops_platform.core.exports``). Headers read ``Label (code)``: people read the label in their
language, scripts key on the code (``exports.header_code``), which stays the field's name."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ops_platform.core.exports import DATETIME, HEADER_BOTH, INT, MONEY, Column, ExportTable, Report

CHUNK = 5000
CUSTOMER_COLUMNS = [
    Column("distinct_id", _("Customer")), Column("first_seen_at", _("First seen"), DATETIME),
    Column("first_channel", _("First-touch channel")), Column("utm_source", _("UTM source")),
    Column("utm_medium", _("UTM medium")), Column("utm_campaign", _("UTM campaign")),
    Column("signed_up_at", _("Signed up"), DATETIME), Column("referrer", _("Referrer")),
    Column("first_order_at", _("First order"), DATETIME), Column("last_order_at", _("Last order"), DATETIME),
    Column("orders", _("Orders"), INT), Column("spend", _("Spend"), MONEY), Column("stage", _("Life-cycle stage")),
    Column("recency_score", _("Recency score"), INT), Column("frequency_score", _("Frequency score"), INT),
    Column("monetary_score", _("Monetary score"), INT), Column("rfm_segment", _("RFM segment")),
]
COUPON_CODE_COLUMNS = [Column("code", _("Code")), Column("customer", _("Customer")),
                       Column("issued_at", _("Issued"), DATETIME)]


def customers_report(*, customers: QuerySet, name: str) -> Report:
    """Customers of a selector's queryset (the list's filters, a segment's members), streamed."""
    rows = customers.values_list(*(column.key for column in CUSTOMER_COLUMNS)).iterator(chunk_size=CHUNK)
    return Report(name=name, header=HEADER_BOTH,
                  tables=[ExportTable(title=_("Customers"), columns=CUSTOMER_COLUMNS, rows=rows)])


def coupon_codes_report(*, codes: QuerySet, name: str) -> Report:
    """A campaign's codes with the customer each was issued to, streamed."""
    rows = codes.values_list("code", "customer__distinct_id", "issued_at").iterator(chunk_size=CHUNK)
    return Report(name=name, header=HEADER_BOTH,
                  tables=[ExportTable(title=_("Coupon codes"), columns=COUPON_CODE_COLUMNS, rows=rows)])
