"""The analytics reports a saved insight can hold (ops_platform/core/reports.py): each read through its API's own
parser and computed by the selector its API calls, so an insight's result is the API's answer."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from analytics import selectors
from analytics.apis import AarrrInputSerializer
from analytics.report_forms import (
    FilteredFunnelForm,
    FilteredGoldenTimeForm,
    FilteredRetentionForm,
    StickinessForm,
    TrendsForm,
)
from ops_platform.core.reports import (
    ReportKind,
    form_parameters,
    form_parser,
    report_kind_register,
    serializer_parameters,
    serializer_parser,
)
from ops_platform.core.roles import Area

KINDS = [
    ReportKind(key="funnel", label=_("Funnel"), area=Area.ANALYTICS, parse=form_parser(FilteredFunnelForm),
               compute=selectors.funnel_compute, parameters=form_parameters(FilteredFunnelForm),
               page_url_name="analytics:funnel", api_url_name="analytics-funnel",
               description=_("Ordered steps, the share of customers who reach each one.")),
    ReportKind(key="retention", label=_("Retention"), area=Area.ANALYTICS, parse=form_parser(FilteredRetentionForm),
               compute=selectors.retention_compute, parameters=form_parameters(FilteredRetentionForm),
               page_url_name="analytics:retention", api_url_name="analytics-retention",
               description=_("Cohorts by their first event, and how many come back period after period.")),
    ReportKind(key="golden_time", label=_("Golden time"), area=Area.ANALYTICS,
               parse=form_parser(FilteredGoldenTimeForm),
               compute=selectors.golden_time_compute, parameters=form_parameters(FilteredGoldenTimeForm),
               page_url_name="analytics:golden-time", api_url_name="analytics-golden-time",
               description=_("When in the week an event happens, hour by hour.")),
    ReportKind(key="trends", label=_("Trends"), area=Area.ANALYTICS, parse=form_parser(TrendsForm),
               compute=selectors.trends_compute, parameters=form_parameters(TrendsForm),
               page_url_name="analytics:trends", api_url_name="analytics-trends", time_series=True,
               description=_("An event's count, customers or a property's sum per day, week or month, by any "
                             "property.")),
    ReportKind(key="stickiness", label=_("Stickiness"), area=Area.ANALYTICS, parse=form_parser(StickinessForm),
               compute=selectors.stickiness_compute, parameters=form_parameters(StickinessForm),
               page_url_name="analytics:stickiness", api_url_name="analytics-stickiness", time_series=True,
               description=_("Daily, weekly and monthly active customers of an event, DAU/MAU, and how many days "
                             "of the last 7 and 30 customers came.")),
    ReportKind(key="aarrr", label=_("AARRR overview"), area=Area.ANALYTICS,
               parse=serializer_parser(AarrrInputSerializer), compute=selectors.aarrr_overview,
               parameters=serializer_parameters(AarrrInputSerializer), page_url_name="analytics:aarrr",
               api_url_name="aarrr-overview", time_series=True,
               description=_("The five stages per day, against the previous period, and by channel.")),
]


def reports_register() -> None:
    from analytics import report_exports  # noqa: F401 - registers the reports' file builders

    for kind in KINDS:
        report_kind_register(kind)
