"""The requirement loop's report a saved insight can hold (ops_platform/core/reports.py): launches and conclusions."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ops_platform.core.reports import (
    ReportKind,
    ReportRangeSerializer,
    report_kind_register,
    serializer_parameters,
    serializer_parser,
)
from ops_platform.core.roles import Area
from products import selectors
from products.models import Ticket


def launches_report(*, date_from, date_to) -> dict:
    """Tickets launched and concluded in the range, with the outcomes' names in every language of the site."""
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels[code] = {outcome.value: str(outcome.label) for outcome in Ticket.Outcome}
    return {"launched": selectors.launches_in_range(date_from=date_from, date_to=date_to),
            "concluded": selectors.tickets_concluded_in_range(date_from=date_from, date_to=date_to),
            "outcome_labels": labels}


def reports_register() -> None:
    report_kind_register(ReportKind(
        key="launches", label=_("Launches and conclusions"), area=Area.TICKETS,
        parse=serializer_parser(ReportRangeSerializer), compute=launches_report,
        parameters=serializer_parameters(ReportRangeSerializer), page_url_name="products:roadmap",
        description=_("Requirement tickets launched and concluded in the range.")))
