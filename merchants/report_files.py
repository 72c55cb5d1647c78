"""The merchant tiers as a file (CSV or XLSX), registered in the one registry of downloadable reports
(``ops_platform/core/report_files.py``): what the tiers page shows, from the same selector (``tier_report``), with
every merchant of each list rather than the page's first hundred. Tiers are written as their code beside their name
in the reader's language, and headers as ``Label (code)``, so scripts key on codes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from merchants import selectors
from merchants.models import Tier
from ops_platform.core.exports import DATE, DATETIME, HEADER_BOTH, INT, Column, ExportTable, Report
from ops_platform.core.labels import CHANGE_FROM, CHANGE_TO
from ops_platform.core.report_files import no_parameters, report_file_register
from ops_platform.core.roles import Area

DISTRIBUTION_COLUMNS = [Column("tier", _("Tier")), Column("tier_label", _("Tier name")),
                        Column("merchants", _("Merchants"), INT)]
MOVE_COLUMNS = [
    Column("direction", _("Direction")), Column("merchant", _("Merchant")), Column("name", _("Name")),
    Column("from_tier", CHANGE_FROM), Column("from_label", _("From (name)")), Column("to_tier", CHANGE_TO),
    Column("to_label", _("To (name)")), Column("week", _("Week of"), DATE), Column("reason", _("Reason")),
    Column("changed_at", _("Changed at"), DATETIME),
]
MERCHANT_COLUMNS = [
    Column("list", _("List")), Column("merchant", _("Merchant")), Column("name", _("Name")),
    Column("tier", _("Tier")), Column("tier_label", _("Tier name")), Column("health_score", _("Health score"), INT),
    Column("owner", _("Owner")),
]


def _tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier in Tier.values else tier


def _moves(direction: str, changes) -> list[dict]:
    return [{"direction": direction, "merchant": change.merchant.code, "name": change.merchant.name,
             "from_tier": change.from_tier, "from_label": _tier_label(change.from_tier), "to_tier": change.to_tier,
             "to_label": _tier_label(change.to_tier), "week": change.period_start, "reason": change.reason_text,
             "changed_at": change.changed_at} for change in changes]


def _merchants(name: str, merchants) -> list[dict]:
    return [{"list": name, "merchant": merchant.code, "name": merchant.name, "tier": merchant.tier,
             "tier_label": _tier_label(merchant.tier), "health_score": merchant.health_score,
             "owner": merchant.owner.username if merchant.owner else None} for merchant in merchants]


@report_file_register("tiers", area=Area.MERCHANTS, params=no_parameters, label=_("Merchant tiers"))
def tiers_report(params: dict) -> Report:
    report = selectors.tier_report()
    distribution = [{"tier": row["tier"], "tier_label": str(row["label"]), "merchants": row["count"]}
                    for row in report["distribution"]]
    moves = _moves("up", report["ups"]) + _moves("down", report["downs"])
    merchants = (_merchants("upgrade_candidate", report["candidates"])
                 + _merchants("rotate_out", report["rotate"]))
    return Report(name="merchant_tiers", header=HEADER_BOTH, tables=[
        ExportTable(title=_("Merchants per tier"), columns=DISTRIBUTION_COLUMNS, rows=distribution,
                    total=len(distribution)),
        ExportTable(title=_("Tier moves of the week"), columns=MOVE_COLUMNS, rows=moves, total=len(moves)),
        ExportTable(title=_("Candidates and rotate-out"), columns=MERCHANT_COLUMNS, rows=merchants,
                    total=len(merchants)),
    ])
