"""The merchants' report a saved insight can hold (ops_platform/core/reports.py): the tier moves of a range."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from merchants import selectors
from merchants.models import Tier
from ops_platform.core.reports import (
    ReportKind,
    ReportRangeSerializer,
    report_kind_register,
    serializer_parameters,
    serializer_parser,
)
from ops_platform.core.roles import Area


def tier_moves_with_labels(*, date_from, date_to) -> dict:
    """The tier moves, with the tiers' names in every language of the site (an answer is shared by its readers)."""
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels[code] = {tier.value: str(tier.label) for tier in Tier}
    return {**selectors.tier_moves_report(date_from=date_from, date_to=date_to), "tier_labels": labels}


def reports_register() -> None:
    report_kind_register(ReportKind(
        key="tier_moves", label=_("Merchant tier moves"), area=Area.MERCHANTS,
        parse=serializer_parser(ReportRangeSerializer), compute=tier_moves_with_labels,
        parameters=serializer_parameters(ReportRangeSerializer), page_url_name="merchants:tiers",
        description=_("Merchants that moved up or down a tier, and those that got their first.")))
