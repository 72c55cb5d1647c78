from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from merchants.models import Campaign, CampaignInvite, LossReason, Merchant, MerchantContact, Tier
from ops_platform.core.roles import Role


class MerchantFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[("", "—"), *Merchant.Stage.choices])
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", "—"), *Tier.choices])
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    category = forms.CharField(label=_("Category"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=get_user_model().objects.filter(
        groups__name=Role.MERCHANT_OPS.value, is_active=True).order_by("username"), to_field_name="username")
    stale = forms.NullBooleanField(label=_("Stale"), required=False, widget=forms.Select(choices=[
        ("", "—"), ("true", _("stale only")), ("false", _("not stale"))]))


class MerchantForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.CharField(label=_("Category"), max_length=100)
    city = forms.CharField(label=_("City"), max_length=100)
    district = forms.CharField(label=_("District"), max_length=100, required=False)
    contact_person = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Merchant.Stage.choices)
    reason = forms.ModelChoiceField(label=_("Reason"), required=False, queryset=LossReason.objects.filter(active=True))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MerchantContact.Kind.choices)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=10_000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=300)
    follow_up_on = forms.DateField(label=_("Next follow-up"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=get_user_model().objects.filter(
        groups__name=Role.MERCHANT_OPS.value, is_active=True).order_by("username"), to_field_name="username")


class TierBulkForm(forms.Form):
    merchants = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("Merchants"))
    action = forms.ChoiceField(choices=[("promote", _("Promote to core")), ("rotate_out", _("Rotate out (terminate)"))])
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, merchant_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchants"].choices = [(i, i) for i in merchant_ids]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=Campaign.Kind.choices)
    starts_on = forms.DateField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    budget = forms.DecimalField(label=_("Budget"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    target_tiers = forms.MultipleChoiceField(label=_("Target tiers"), choices=Tier.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)


class InviteRespondForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in CampaignInvite.Status.choices if c[0] != "invited"])
