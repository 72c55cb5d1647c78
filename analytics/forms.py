from django import forms
from django.utils.translation import gettext_lazy as _


class IngestKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Who sends events with this key, e.g. “marketplace backend (production)”."))
