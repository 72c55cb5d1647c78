from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from ops_platform.core.periods import TODAY, DateRange
from ops_platform.core.pickers import PickerSelect
from users.models import CouponCampaign, RfmSegment, Segment, Stage

MIN_DATE_ERROR = _("Use a date between 1970 and 2099.")
CUSTOMER_RANGE = DateRange(default_end=TODAY, default_days=30)  # the customers' reports, pages and API: to today


def _bounded(value):
    if value is not None and not (1970 <= value.year <= 2099):
        raise forms.ValidationError(MIN_DATE_ERROR)
    return value


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[("", _("any"))] + list(Stage.choices))
    rfm_segment = forms.ChoiceField(label=_("RFM segment"), required=False,
                                    choices=[("", _("any"))] + list(RfmSegment.choices))
    channel = forms.CharField(label=_("Channel"), required=False, max_length=100)
    min_orders = forms.IntegerField(label=_("Orders at least"), required=False, min_value=0, max_value=1_000_000)

    def selector_filters(self) -> dict:
        """``selectors.customer_list``'s keyword arguments (the list page, its download and the export job)."""
        data = self.cleaned_data
        return {"q": data["q"] or None, "stage": data["stage"] or None, "rfm_segment": data["rfm_segment"] or None,
                "channel": data["channel"] or None, "min_orders": data["min_orders"]}


class RangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)

    def clean_date_from(self):
        return _bounded(self.cleaned_data["date_from"])

    def clean_date_to(self):
        return _bounded(self.cleaned_data["date_to"])

    def clean(self):
        return CUSTOMER_RANGE.clean_form(self, super().clean())


class ChannelSpendForm(forms.Form):
    channel = forms.CharField(label=_("Channel"), max_length=100)
    period_start = forms.DateField(label=_("From"))
    period_end = forms.DateField(label=_("To"))
    amount = forms.DecimalField(label=_("Spend"), min_value=0, max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def clean_period_start(self):
        return _bounded(self.cleaned_data["period_start"])

    def clean_period_end(self):
        return _bounded(self.cleaned_data["period_end"])


class SpendImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    rules = forms.JSONField(label=_("Rules"), initial={"op": "and", "conditions": []},
                            widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "data-testid": "rules"}))


class CouponCampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=CouponCampaign.Kind.choices)
    discount_type = forms.ChoiceField(label=_("Discount"), choices=CouponCampaign.DiscountType.choices)
    face_value = forms.DecimalField(label=_("Face value"), min_value=0, max_digits=10, decimal_places=2, initial=0)
    percent = forms.DecimalField(label=_("Percent off"), min_value=0, max_value=100, max_digits=5, decimal_places=2,
                                 initial=0)
    cap = forms.DecimalField(label=_("Cap"), min_value=0, max_digits=10, decimal_places=2, initial=0)
    min_spend = forms.DecimalField(label=_("Minimum spend"), min_value=0, max_digits=10, decimal_places=2, initial=0)
    valid_from = forms.DateTimeField(label=_("Valid from"), widget=forms.DateTimeInput(attrs={"type": "date"}))
    valid_to = forms.DateTimeField(label=_("Valid to"), widget=forms.DateTimeInput(attrs={"type": "date"}))
    budget = forms.DecimalField(label=_("Total budget"), min_value=0, max_digits=14, decimal_places=2)
    per_customer_limit = forms.IntegerField(label=_("Per-customer limit"), min_value=1, max_value=100, initial=1)
    segment = forms.ModelChoiceField(label=_("Target segment"), queryset=Segment.objects.order_by("name"),
                                     required=False, widget=PickerSelect)
    holdout_share = forms.DecimalField(label=_("Holdout share"), min_value=0, max_value=Decimal("0.5"), max_digits=4,
                                       decimal_places=3, initial=Decimal("0.1"))
    funded_by = forms.ChoiceField(label=_("Funded by"), choices=CouponCampaign.FundedBy.choices)
    merchant_share = forms.DecimalField(label=_("Merchant share"), min_value=0, max_value=1, max_digits=4,
                                        decimal_places=3, initial=0)


class CodeCountForm(forms.Form):
    count = forms.IntegerField(label=_("Codes"), min_value=1, max_value=200_000)
