from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from goals.models import Goal, Metric, Team
from ops_platform.core.pickers import PickerSelect
from ops_platform.core.widgets import DateWidget
from users.models import CouponCampaign, Segment


def _staff():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class GoalForm(forms.Form):
    """The goal fields; the rules (who, which parameters, which parent) are the model's and the services'."""

    title = forms.CharField(label=_("Title"), max_length=200)
    level = forms.ChoiceField(label=_("Level"), choices=Goal.Level.choices)
    period_kind = forms.ChoiceField(label=_("Period"), choices=Goal.PeriodKind.choices)
    period_start = forms.DateField(label=_("Period start"),
                                   widget=DateWidget(),
                                   help_text=_("The first day of the month or quarter."))
    parent = forms.ModelChoiceField(label=_("Parent goal"), required=False, queryset=Goal.objects.exclude(
        level=Goal.Level.PERSONAL).order_by("-period_start", "level", "title"))
    team = forms.ModelChoiceField(label=_("Team"), required=False, queryset=Team.objects.order_by("name"))
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=_staff(), widget=PickerSelect)
    metric = forms.ChoiceField(label=_("Metric"), choices=Metric.choices)
    channel = forms.CharField(label=_("Channel"), required=False, max_length=100,
                              help_text=_("AARRR metrics only; empty for all channels."))
    segment = forms.ModelChoiceField(label=_("Segment"), required=False, queryset=Segment.objects.order_by("name"),
                                     widget=PickerSelect)
    coupon_campaign = forms.ModelChoiceField(label=_("Coupon campaign"), required=False,
                                             queryset=CouponCampaign.objects.order_by("name"),
                                             help_text=_("Coupon ROI only; empty for every campaign."))
    target = forms.DecimalField(label=_("Target"), max_digits=16, decimal_places=2)
    baseline = forms.DecimalField(label=_("Baseline"), required=False, max_digits=16, decimal_places=2,
                                  help_text=_("Levels and rates only; empty to start from the value on the first "
                                              "day (a rate: its value over the period before). Rates are in "
                                              "percent, except coupon ROI."))


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Team.Kind.choices)
    description = forms.CharField(label=_("Description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class MemberAddForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Staff member"), queryset=_staff(), to_field_name="username",
                                  widget=PickerSelect)
    is_lead = forms.BooleanField(label=_("Lead"), required=False)


class MemberChangeForm(forms.Form):
    action = forms.ChoiceField(choices=[("lead", "lead"), ("member", "member"), ("remove", "remove")])
