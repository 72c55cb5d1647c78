"""The user-operations reports as files (CSV or XLSX) — channel quality, life cycle, the RFM grid, and the customers
with their RFM scores — registered in the one registry of downloadable reports (``ops_platform/core/report_files.py``):
each read by the parser its page and API use and computed by the selector they call, so a file holds the page's
figures. Headers read ``Label (code)``: people read the label in their language, scripts key on the code."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_lazy as _

from ops_platform.core.exports import (
    DATE,
    HEADER_BOTH,
    INT,
    MONEY,
    PERCENT,
    Column,
    ExportTable,
    Report,
)
from ops_platform.core.labels import CHANGE_FROM, CHANGE_TO
from ops_platform.core.report_files import (
    no_parameters,
    parsed_arguments,
    parsed_params,
    report_file_register,
    report_name,
)
from ops_platform.core.reports import form_parser, serializer_parser
from ops_platform.core.roles import Area
from users import selectors
from users.apis import RangeSerializer
from users.forms import CustomerFilterForm
from users.models import RfmSegment
from users.services.exports import customers_report

RANGE_PARAMETERS = ("date_from", "date_to")
parse_range = serializer_parser(RangeSerializer)
parse_customer_filters = form_parser(CustomerFilterForm, CustomerFilterForm.selector_filters)
CUSTOMER_FILTERS = tuple(CustomerFilterForm.base_fields)

CHANNEL_COLUMNS = [
    Column("rank", _("Rank"), INT), Column("channel", _("Channel")), Column("visitors", _("Visitors"), INT),
    Column("signups", _("Sign-ups"), INT), Column("activation_rate", _("Activation rate"), PERCENT),
    Column("repeat_rate", _("Repeat rate"), PERCENT),
    Column("repeat_rate_14d", _("Repeat within 14 days"), PERCENT), Column("buyers_14d", _("Buyers 14d"), INT),
    Column("spend", _("Spend"), MONEY),
    Column("cac", "CAC", MONEY),
    Column("revenue_30d_per_customer", _("Revenue / customer 30d"), MONEY),
    Column("customers_30d", _("Customers 30d"), INT),
    Column("revenue_60d_per_customer", _("Revenue / customer 60d"), MONEY),
    Column("customers_60d", _("Customers 60d"), INT),
    Column("revenue_90d_per_customer", _("Revenue / customer 90d"), MONEY),
    Column("customers_90d", _("Customers 90d"), INT),
    Column("payback_days", _("Payback (days)"), INT), Column("roi", "ROI", PERCENT),
]


@report_file_register("channel_quality", area=Area.CUSTOMERS, params=parsed_params(parse_range, RANGE_PARAMETERS))
def channel_quality_report(params: dict) -> Report:
    """The channels page's ranking (``selectors.channel_quality``): a row per first-touch channel, in its rank."""
    result = selectors.channel_quality(**parsed_arguments(parse_range, params))
    return Report(name=report_name("channel_quality", params), header=HEADER_BOTH, tables=[
        ExportTable(title=_("Channel quality"), columns=CHANNEL_COLUMNS, rows=result["channels"],
                    total=len(result["channels"]))])


@report_file_register("lifecycle", area=Area.CUSTOMERS, params=parsed_params(parse_range, RANGE_PARAMETERS))
def lifecycle_report(params: dict) -> Report:
    """The life-cycle page (``selectors.lifecycle_report``): customers per stage per day, then the flows."""
    result = selectors.lifecycle_report(**parsed_arguments(parse_range, params))
    stages = list(result["stages"])
    day_columns = [Column("date", _("Day"), DATE),
                   *[Column(stage, result["labels"].get(stage, stage), INT) for stage in stages]]
    days = [{"date": date.fromisoformat(day), **{stage: result["stages"][stage][index] for stage in stages}}
            for index, day in enumerate(result["dates"])]
    first_seen = str(_("(first seen)"))
    flows = [{**flow, "from_label": flow["from_label"] or first_seen} for flow in result["flows"]]
    flow_columns = [Column("from_stage", _("From stage")), Column("from_label", CHANGE_FROM),
                    Column("to_stage", _("To stage")), Column("to_label", CHANGE_TO),
                    Column("customers", _("Customers"), INT)]
    return Report(name=report_name("lifecycle", params), header=HEADER_BOTH, tables=[
        ExportTable(title=_("Customers per stage per day"), columns=day_columns, rows=days, total=len(days)),
        ExportTable(title=_("Flows between stages"), columns=flow_columns, rows=flows, total=len(flows))])


RFM_GRID_COLUMNS = [
    Column("recency", _("Recency score"), INT), Column("frequency", _("Frequency score"), INT),
    Column("customers", _("Customers"), INT), Column("segment", _("RFM segment")),
    Column("segment_label", _("RFM segment name")),
]
RFM_SEGMENT_COLUMNS = [Column("segment", _("RFM segment")), Column("segment_label", _("RFM segment name")),
                       Column("customers", _("Customers"), INT)]
STAGE_COLUMNS = [Column("stage", _("Stage")), Column("label", _("Stage name")),
                 Column("customers", _("Customers"), INT)]


@report_file_register("rfm", area=Area.CUSTOMERS, params=no_parameters, label=_("RFM grid"))
def rfm_report(params: dict) -> Report:
    """The customers page (``selectors.customer_summary``, as of the last refresh): the RFM grid cell by cell, the
    customers per RFM segment and per life-cycle stage. Counts only: no single customer."""
    summary = selectors.customer_summary()
    grid = [{"recency": row["recency"], **cell} for row in summary["rfm_grid"] for cell in row["cells"]]
    segments = [{"segment": segment, "segment_label": str(RfmSegment(segment).label) if segment in RfmSegment.values
                 else segment, "customers": customers} for segment, customers in summary["rfm_segments"].items()]
    stages = summary["stages"]
    return Report(name="rfm", header=HEADER_BOTH, tables=[
        ExportTable(title=_("RFM grid"), columns=RFM_GRID_COLUMNS, rows=grid, total=len(grid)),
        ExportTable(title=_("RFM segments"), columns=RFM_SEGMENT_COLUMNS, rows=segments, total=len(segments)),
        ExportTable(title=_("Life-cycle stages"), columns=STAGE_COLUMNS, rows=stages, total=len(stages))])


@report_file_register("customers", area=Area.CUSTOMER_RECORDS, large=True,
                      params=parsed_params(parse_customer_filters, CUSTOMER_FILTERS),
                      fields=lambda: CustomerFilterForm.base_fields)
def customers_rfm_report(params: dict) -> Report:
    """The customer list with its filters (``selectors.customer_list``), a row per customer with their R, F and M
    scores and segment: over a million rows on a big platform, so streamed, and an export job for XLSX."""
    customers = selectors.customer_list(**parsed_arguments(parse_customer_filters, params))
    report = customers_report(customers=customers, name="customers")
    report.tables[0].total = customers.count()
    return report

