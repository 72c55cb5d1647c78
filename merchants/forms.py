from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from merchants.models import Campaign, CampaignInvite, Course, Enrolment, LossReason, Merchant, MerchantContact, Tier
from ops_platform.core.labels import code_label
from ops_platform.core.pickers import PickerSelect, PickerSelectMultiple
from ops_platform.core.roles import Role
from ops_platform.core.widgets import DateWidget


class MerchantFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[("", "—"), *Merchant.Stage.choices])
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", "—"), *Tier.choices])
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    category = forms.CharField(label=_("Category"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=_("Owner"), required=False, queryset=get_user_model().objects.filter(
        groups__name=Role.MERCHANT_OPS.value, is_active=True).order_by("username"), to_field_name="username",
        widget=PickerSelect)
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
    expected_monthly_gmv = forms.DecimalField(label=_("Expected monthly GMV"), required=False, min_value=0,
                                              max_digits=14, decimal_places=2)


class MerchantEditForm(MerchantForm):
    """The merchant form on an existing merchant: its code stays."""

    code = None


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Merchant.Stage.choices)
    reason = forms.ModelChoiceField(label=_("Reason"), required=False, queryset=LossReason.objects.filter(active=True))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MerchantContact.Kind.choices, error_messages={
        "required": _("Choose how you followed up: a visit, a call, a message…")})
    notes = forms.CharField(label=_("Notes"), required=False, max_length=10_000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=300)
    follow_up_on = forms.DateField(label=_("Next follow-up"), required=False,
                                   widget=DateWidget())


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=get_user_model().objects.filter(
        groups__name=Role.MERCHANT_OPS.value, is_active=True).order_by("username"), to_field_name="username",
        widget=PickerSelect)


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
    starts_on = forms.DateField(label=_("Starts on"), widget=DateWidget())
    ends_on = forms.DateField(label=_("Ends on"), widget=DateWidget())
    budget = forms.DecimalField(label=_("Budget"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    target_tiers = forms.MultipleChoiceField(label=_("Target tiers"), choices=Tier.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    target_categories = forms.CharField(label=_("Target categories"), required=False, max_length=500,
                                        help_text=_("Comma-separated; empty for every category."))

    def clean_target_categories(self) -> list[str]:
        return sorted({c.strip() for c in self.cleaned_data["target_categories"].split(",") if c.strip()})

    @staticmethod
    def initial_for(campaign: Campaign) -> dict:
        return {"name": campaign.name, "kind": campaign.kind, "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on, "budget": campaign.budget, "target_tiers": campaign.target_tiers,
                "target_categories": ", ".join(campaign.target_categories)}


class CampaignInviteForm(forms.Form):
    """Invite in bulk: the live merchants the user manages of these tiers and categories (empty: any); or the
    merchants named in the picker (then tiers and categories are not used)."""

    merchants = forms.ModelMultipleChoiceField(
        label=_("Merchants"), required=False, queryset=Merchant.objects.none(), widget=PickerSelectMultiple,
        help_text=_("Type a code or a name to invite these merchants only; leave empty to invite by tier and "
                    "category."))
    tiers = forms.MultipleChoiceField(label=_("Tiers"), choices=Tier.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    categories = forms.MultipleChoiceField(label=_("Categories"), choices=[], required=False,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, categories: list[str] = (), merchants=None, picker_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = [(c, code_label("merchant_category", c)) for c in categories]
        if merchants is not None:
            self.fields["merchants"].queryset = merchants
        self.fields["merchants"].widget.url = picker_url


class InviteRespondForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in CampaignInvite.Status.choices if c[0] != "invited"])


class CourseForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    required_for = forms.MultipleChoiceField(label=_("Required for tiers"), choices=Tier.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # the code names the course in the curriculum and does not change
            del self.fields["code"]


class SessionForm(forms.Form):
    course = forms.ModelChoiceField(label=_("Course"), queryset=Course.objects.order_by("code"))
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    trainer = forms.CharField(label=_("Trainer"), max_length=100)
    place = forms.CharField(label=_("Place"), required=False, max_length=200)
    online = forms.BooleanField(label=_("Online"), required=False)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=10_000, initial=30)


class EnrolForm(forms.Form):
    merchants = forms.ModelMultipleChoiceField(label=_("Merchants"), queryset=Merchant.objects.none(),
                                               widget=PickerSelectMultiple)

    def __init__(self, *args, merchants=None, picker_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if merchants is not None:
            self.fields["merchants"].queryset = merchants
        self.fields["merchants"].widget.url = picker_url


ATTENDANCE_CHOICES = [("", "—"), (Enrolment.Status.ATTENDED, _("attended")), (Enrolment.Status.ABSENT, _("absent"))]


class AttendanceForm(forms.Form):
    """One choice per enrolled merchant (field ``m<merchant id>``): attended, absent, or left as it is."""

    def __init__(self, *args, enrolments=(), **kwargs):
        super().__init__(*args, **kwargs)
        for enrolment in enrolments:
            self.fields[f"m{enrolment.merchant_id}"] = forms.ChoiceField(
                label=f"{enrolment.merchant.code} {enrolment.merchant.name}", choices=ATTENDANCE_CHOICES,
                required=False, initial="" if enrolment.status == Enrolment.Status.ENROLLED else enrolment.status,
                widget=forms.RadioSelect)

    def marks(self) -> dict[int, bool]:
        return {int(name[1:]): value == Enrolment.Status.ATTENDED for name, value in self.cleaned_data.items()
                if value}


class TargetForm(forms.Form):
    period_start = forms.DateField(label=_("Period start"), widget=DateWidget())
    period_end = forms.DateField(label=_("Period end"), widget=DateWidget())
    category = forms.CharField(label=_("Category"), required=False, max_length=100,
                               help_text=_("Empty for every category."))
    city = forms.CharField(label=_("City"), required=False, max_length=100, help_text=_("Empty for every city."))
    target = forms.IntegerField(label=_("Target"), min_value=1, max_value=1_000_000)
