"""Forms of the desk's pages: alert rules (a rule on an insight; the built-in rules' settings)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from desk.models import AlertRule


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    metric = forms.ChoiceField(label=_("Figure"))
    condition = forms.ChoiceField(label=_("When it"), choices=AlertRule.Condition.choices)
    value = forms.FloatField(label=_("Value"), help_text=_("A number for above / below; a percentage for change / "
                                                           "drop (20 means 20 %)."))
    period = forms.ChoiceField(label=_("Each complete"), choices=AlertRule.Period.choices, initial="week")
    email = forms.BooleanField(label=_("Also e-mail me"), required=False)

    def __init__(self, *args, metrics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = list(metrics)

    def threshold(self) -> float:
        """The stored threshold: the number itself, or the percentage as a ratio for change and drop."""
        value = self.cleaned_data["value"]
        relative = self.cleaned_data["condition"] in {AlertRule.Condition.CHANGE, AlertRule.Condition.DROP}
        return value / 100 if relative else value


class BuiltinRuleForm(forms.Form):
    enabled = forms.BooleanField(label=_("On"), required=False)
    threshold = forms.FloatField(label=_("Threshold"), required=False, min_value=0)
