"""Form widgets every app's pages share."""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class DateWidget(forms.DateInput):
    """The browser's date picker, in the page's language: ``lang`` names the reader's language (the html element
    has it too; the input carries it so that a picker in a fragment fetched alone follows it), the value is ISO
    8601 whatever the language's own input formats say (a ``type="date"`` input reads nothing else), and the
    title tells the format in words for a browser that shows a plain text box."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs.setdefault("lang", get_language() or "en")
        widget_attrs.setdefault("title", str(_("Date: year-month-day, e.g. 2026-12-08")))
        return context
