from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from users.models import RfmSegment, Stage

MIN_DATE_ERROR = _("Use a date between 1970 and 2099.")


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


class RangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)

    def clean_date_from(self):
        return _bounded(self.cleaned_data["date_from"])

    def clean_date_to(self):
        return _bounded(self.cleaned_data["date_to"])

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"] - timedelta(days=29)
        if data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("Must not be before the start."))
        return data


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
