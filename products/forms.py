from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from ops_platform.core.fields import id_from_text
from ops_platform.core.pickers import PickerSelect, PickerSelectMultiple
from ops_platform.core.widgets import DateWidget
from products.models import FeedbackItem, Ticket
from products.selectors import ticket_owner_candidates


def _staff():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class StaffChoiceField(forms.ModelChoiceField):
    widget = PickerSelect

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    widget = PickerSelectMultiple

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class TicketForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description (Markdown)"), required=False, widget=forms.Textarea(
        attrs={"rows": 8}), max_length=50_000)
    kind = forms.ChoiceField(label=_("Kind"), choices=Ticket.Kind.choices)
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Ticket.Priority.choices, coerce=int,
                                      initial=Ticket.Priority.MEDIUM)
    owner_pm = StaffChoiceField(label=_("Owner PM"), queryset=ticket_owner_candidates(), required=False)
    assignees = StaffMultipleChoiceField(label=_("Assignees"), queryset=_staff(), required=False)
    aarrr_stage = forms.ChoiceField(label=_("AARRR stage"), choices=[("", "—"), *Ticket.Stage.choices], required=False)
    target_metric = forms.ChoiceField(label=_("Target metric"), choices=[("", "—"), *Ticket.Metric.choices],
                                      required=False)
    expected_change = forms.CharField(label=_("Expected change (hypothesis)"), max_length=200, required=False)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateWidget())
    labels = forms.CharField(label=_("Labels (comma separated)"), required=False, max_length=800)
    links = forms.CharField(label=_("Links (merchant:M00012, segment:lapsed, campaign:spring)"), required=False,
                            max_length=2000)

    def clean_labels(self):
        return [label.strip() for label in self.cleaned_data["labels"].split(",") if label.strip()]

    def clean_links(self):
        links = []
        for part in self.cleaned_data["links"].split(","):
            if not part.strip():
                continue
            kind, _sep, ref = part.strip().partition(":")
            if kind not in ("merchant", "segment", "campaign") or not ref.strip():
                raise forms.ValidationError(_("Write each link as kind:reference, kind being merchant, segment or "
                                              "campaign."))
            links.append({"kind": kind, "ref": ref.strip()})
        return links

    @staticmethod
    def initial_for(ticket: Ticket) -> dict:
        return {"title": ticket.title, "description": ticket.description, "kind": ticket.kind,
                "priority": ticket.priority, "owner_pm": ticket.owner_pm_id,
                "assignees": [a.pk for a in ticket.assignees.all()], "aarrr_stage": ticket.aarrr_stage,
                "target_metric": ticket.target_metric, "expected_change": ticket.expected_change,
                "due_date": ticket.due_date, "labels": ", ".join(ticket.labels),
                "links": ", ".join(f"{link['kind']}:{link['ref']}" for link in ticket.links)}


class TicketEditForm(TicketForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class TicketFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(label=_("Status"), choices=Ticket.Status.choices, required=False,
                                       widget=forms.SelectMultiple(attrs={"size": 3}))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("all")), *Ticket.Kind.choices], required=False)
    priority = forms.TypedChoiceField(label=_("Priority"), choices=[("", _("all")), *Ticket.Priority.choices],
                                      coerce=int, empty_value=None, required=False)
    stage = forms.ChoiceField(label=_("AARRR stage"), choices=[("", _("all")), *Ticket.Stage.choices], required=False)
    label = forms.CharField(label=_("Label"), required=False, max_length=40)
    open = forms.BooleanField(label=_("Open only"), required=False)

    def selector_filters(self) -> dict:
        """``selectors.ticket_list``'s keyword arguments (the list page, its download and the export job)."""
        data = self.cleaned_data
        return {"q": data["q"] or None, "status": data["status"] or None, "kind": data["kind"] or None,
                "priority": data["priority"], "stage": data["stage"] or None, "label": data["label"] or None,
                "open_only": data["open"]}


class MoveForm(forms.Form):
    to_status = forms.ChoiceField(choices=Ticket.Status.choices)
    version = forms.IntegerField(min_value=1, required=False)
    comment = forms.CharField(required=False, max_length=5000)
    reason = forms.CharField(required=False, max_length=5000)
    outcome = forms.ChoiceField(choices=[("", "—"), *Ticket.Outcome.choices], required=False)
    analysis_summary = forms.CharField(required=False, max_length=20_000)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


# What Python's JSON parser says, in words a PM reads (and translated).
JSON_PROBLEMS = {
    "Expecting value": _("a value is missing here"),
    "Expecting property name enclosed in double quotes": _("a property name in double quotes is expected here"),
    "Expecting ',' delimiter": _("a comma is missing before this"),
    "Expecting ':' delimiter": _("a colon is missing after the name"),
    "Extra data": _("there is more text after the end of the JSON"),
    "Unterminated string starting at": _("a text in quotes is not closed"),
    "Invalid control character at": _("a line break or tab inside quotes (escape it with a backslash)"),
}


def json_error_message(text: str, error: json.JSONDecodeError) -> str:
    """"Not valid JSON at line L, column C: what is wrong", naming a trailing comma for what it is."""
    before = text[:error.pos].rstrip()
    if error.msg in ("Expecting value", "Expecting property name enclosed in double quotes") and \
            before.endswith(",") and text[error.pos:error.pos + 1] in ("]", "}"):
        comma = len(before) - 1
        line, column = text.count("\n", 0, comma) + 1, comma - (text.rfind("\n", 0, comma) + 1) + 1
        problem = _("a comma before the closing bracket (a trailing comma): remove it")
    else:
        line, column = error.lineno, error.colno
        problem = JSON_PROBLEMS.get(error.msg, error.msg)
    return _("Not valid JSON at line %(line)d, column %(column)d: %(problem)s.") % {
        "line": line, "column": column, "problem": problem}


class PlanForm(forms.Form):
    events = forms.CharField(label=_("Events (JSON)"), widget=forms.Textarea(attrs={"rows": 18, "class": "mono"}),
                             max_length=200_000)

    def clean_events(self):
        text = self.cleaned_data["events"]
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(json_error_message(text, exc), code="json") from exc


class PlanReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("changes", _("Request changes"))])
    comment = forms.CharField(required=False, max_length=5000)


class ImpactForm(forms.Form):
    window_days = forms.IntegerField(label=_("Window (days before and after)"), min_value=1, max_value=60, initial=14)
    metric = forms.ChoiceField(label=_("Metric"), choices=Ticket.Metric.choices, required=False)
    conclusion = forms.CharField(label=_("Conclusion"), required=False, max_length=5000,
                                 widget=forms.Textarea(attrs={"rows": 3}))


class IterationForm(forms.Form):
    title = forms.CharField(label=_("Title of the next iteration"), max_length=200)


class FeedbackForm(forms.Form):
    source = forms.ChoiceField(label=_("Source"), choices=FeedbackItem.Source.choices)
    who = forms.CharField(label=_("Who"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=FeedbackItem.Category.choices)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class TriageForm(forms.Form):
    feedback_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    ticket = forms.CharField(label=_("Ticket (REQ-…)"), max_length=20)

    def clean_ticket(self):
        ticket_id = id_from_text(self.cleaned_data["ticket"].strip().upper().removeprefix("REQ-"))
        if ticket_id is None:
            raise forms.ValidationError(_("Give a ticket key such as REQ-12."))
        return ticket_id

    def __init__(self, *args, ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feedback_ids"].choices = [(i, i) for i in ids]
