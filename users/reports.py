"""The user-operations reports a saved insight can hold (ops_platform/core/reports.py): each read through its
API's own parser and computed by the selector its API calls."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ops_platform.core.fields import IdField
from ops_platform.core.reports import ReportKind, report_kind_register, serializer_parameters, serializer_parser
from ops_platform.core.roles import Area
from users import selectors
from users.apis import RangeSerializer


class NoParametersSerializer(serializers.Serializer):
    """The summaries that take no parameter (they describe the customers as of their last refresh)."""


class SegmentSizeInputSerializer(RangeSerializer):
    segment = IdField(help_text="The segment's id.")

    def validate_segment(self, value):
        segment = selectors.segment_get(segment_id=value)
        if segment is None:
            raise serializers.ValidationError(_("No such segment: choose one from the segments page."))
        return segment


def _customer_summary() -> dict:
    return selectors.customer_summary()


def _referrers() -> dict:
    return selectors.referral_referrers()


KINDS = [
    ReportKind(key="channel_quality", label=_("Channel quality"), area=Area.CUSTOMERS,
               parse=serializer_parser(RangeSerializer), compute=selectors.channel_quality,
               parameters=serializer_parameters(RangeSerializer), page_url_name="users:channels",
               api_url_name="channel-quality",
               description=_("Each first-touch channel by what its customers went on to do.")),
    ReportKind(key="lifecycle", label=_("Life cycle"), area=Area.CUSTOMERS, parse=serializer_parser(RangeSerializer),
               compute=selectors.lifecycle_report, parameters=serializer_parameters(RangeSerializer),
               page_url_name="users:lifecycle", api_url_name="lifecycle", time_series=True,
               description=_("Customers per life-cycle stage per day, and the moves between stages.")),
    ReportKind(key="customers", label=_("Customers and RFM"), area=Area.CUSTOMERS,
               parse=serializer_parser(NoParametersSerializer), compute=_customer_summary, parameters=(),
               page_url_name="users:customers", api_url_name="customer-summary", dated=False,
               description=_("Customers, buyers, stages and the RFM grid, as of the last refresh.")),
    ReportKind(key="segment_size", label=_("Segment size"), area=Area.CUSTOMERS,
               parse=serializer_parser(SegmentSizeInputSerializer), compute=selectors.segment_size_report,
               parameters=serializer_parameters(SegmentSizeInputSerializer), time_series=True,
               segment_is_subject=True, description=_("A segment's size day by day, as its builds stored it.")),
    ReportKind(key="referrers", label=_("Top referrers"), area=Area.CUSTOMER_RECORDS,
               parse=serializer_parser(NoParametersSerializer), compute=_referrers, parameters=(),
               page_url_name="users:referral", api_url_name="referral-referrers", dated=False,
               description=_("The customers who brought in the most sign-ups, and fraud signals.")),
]


def reports_register() -> None:
    for kind in KINDS:
        report_kind_register(kind)
