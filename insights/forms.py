"""The forms of the insights pages (the report parameters themselves are checked by each report's own parser)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from insights.models import DashboardTile, Subscription, Visibility
from ops_platform.core.periods import RELATIVE_RANGE_PRESETS
from ops_platform.core.pickers import PickerSelect
from ops_platform.core.widgets import DateWidget

DATE_WIDGET = DateWidget()
FIXED = ""
RANGE_CHOICES = [(FIXED, _("The dates chosen in the report")), *RELATIVE_RANGE_PRESETS]


class InsightSaveForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    date_range = forms.ChoiceField(label=_("Date range"), choices=RANGE_CHOICES, required=False,
                                   help_text=_("A relative range is resolved each time the insight is opened."))
    visibility = forms.ChoiceField(label=_("Who sees it"), choices=Visibility.choices,
                                   initial=Visibility.PRIVATE)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "—"), *[(team.pk, team.name) for team in teams]]


class DashboardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.TypedChoiceField(label=_("For"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", _("Me only (personal)")), *[(team.pk, team.name) for team in teams]]


class DashboardFiltersForm(forms.Form):
    date_range = forms.ChoiceField(label=_("Date range"), required=False, choices=[
        ("", _("Each tile's own")), *RELATIVE_RANGE_PRESETS, ("fixed", _("From … to …"))])
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    segment = forms.TypedChoiceField(label=_("Segment"), coerce=int, required=False, empty_value=None,
                                     widget=PickerSelect)

    def __init__(self, *args, segments=None, **kwargs):
        """``segments``: those the editor may pick; ``None`` when they may not restrict reports to a segment (no
        right to customer records): no segment field, and the dashboard's segment is left as it is."""
        super().__init__(*args, **kwargs)
        if segments is None:
            del self.fields["segment"]
        else:
            self.fields["segment"].choices = [("", _("All customers")), *[(s.pk, s.name) for s in segments]]


class TileAddForm(forms.Form):
    insight = forms.TypedChoiceField(label=_("Insight"), coerce=int)
    display = forms.ChoiceField(label=_("Show as"), choices=DashboardTile.Display.choices)
    wide = forms.BooleanField(label=_("Wide"), required=False)

    def __init__(self, *args, insights=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["insight"].choices = [(insight.pk, insight.display_name) for insight in insights]


class AnnotationForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET, input_formats=["%Y-%m-%d"])
    text = forms.CharField(label=_("Note"), max_length=200)


WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]


class SubscriptionForm(forms.Form):
    frequency = forms.ChoiceField(label=_("How often"), choices=Subscription.Frequency.choices)
    weekday = forms.TypedChoiceField(label=_("On"), choices=WEEKDAYS, coerce=int, initial=0)
    time = forms.TimeField(label=_("At"), initial="08:00", widget=forms.TimeInput(attrs={"type": "time"},
                                                                                  format="%H:%M"))
    date_range = forms.ChoiceField(label=_("Date range in the e-mail"), required=False, choices=[
        ("", _("As saved")), *RELATIVE_RANGE_PRESETS])
    team = forms.TypedChoiceField(label=_("To the members of"), coerce=int, required=False, empty_value=None)
    recipients = forms.TypedMultipleChoiceField(label=_("And to"), coerce=int, required=False)

    def __init__(self, *args, teams=(), staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "—"), *[(team.pk, team.name) for team in teams]]
        self.fields["recipients"].choices = [(person.pk, person.get_full_name() or person.username)
                                             for person in staff]
