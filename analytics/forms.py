"""Forms of the analytics pages: they parse and validate; the selectors and services do the work."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_RANGE_DAYS = 3660


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    default_days = 30

    def clean(self):
        cleaned = super().clean()
        date_to = cleaned.get("date_to") or timezone.localdate() - timedelta(days=1)
        date_from = cleaned.get("date_from") or date_to - timedelta(days=self.default_days - 1)
        if date_from > date_to:
            self.add_error("date_from", _("Pick a start on or before the end date."))
        elif (date_to - date_from).days > MAX_RANGE_DAYS:
            self.add_error("date_to", _("Pick a range of at most ten years."))
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned


class AarrrFilterForm(DateRangeForm):
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args, channels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels"))] + [(c, c) for c in channels]


class BackfillForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("date_from", _("Pick a start on or before the end date."))
            elif date_to > timezone.localdate():
                self.add_error("date_to", _("The end date cannot be in the future."))
        return cleaned


class ExportStartForm(AarrrFilterForm):
    kind = forms.ChoiceField(choices=[("aarrr", "AARRR")])
    file_format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])
