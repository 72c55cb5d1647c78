"""Searchable pickers: select widgets that ``static/js/pickers.js`` upgrades (Tom Select, vendored) into a box you type
into. One idea, two sizes:

* a short list (staff, segments) renders every option; the browser filters them as you type (``data-picker``);
* a long list (merchants: hundreds) renders only the options already chosen and asks a JSON endpoint for the rest as
  you type (``data-picker-url``), so a page never ships 200+ options. The form field still validates against its
  whole queryset, so a value the endpoint would not offer is refused exactly as before.

Without JavaScript both stay plain ``<select>`` elements (the long one offers what is chosen; the endpoint is a
normal JSON API). The endpoints answer ``{"results": [{"value", "text"}], "more": bool}`` (see ``picker_page``).
"""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

PICKER_LIMIT = 20  # options an endpoint answers per search
PICKER_MAX_LIMIT = 50
PICKER_QUERY_MAX = 100  # characters of a search


class _PickerMixin:
    """``url``: the JSON endpoint a long list searches (its options then render only when chosen)."""

    def __init__(self, attrs=None, choices=(), *, url: str | None = None):
        attrs = {**(attrs or {}), "data-picker": ""}
        attrs.pop("size", None)
        super().__init__(attrs, choices)
        self.url = url

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.url:
            context["widget"]["attrs"]["data-picker-url"] = str(self.url)
        return context

    def optgroups(self, name, value, attrs=None):
        if not self.url or not isinstance(self.choices, ModelChoiceIterator):
            return super().optgroups(name, value, attrs)
        field = self.choices.field
        ids = [int(v) for v in value if str(v).isdigit()]
        full, self.choices = self.choices, [
            (obj.pk, field.label_from_instance(obj)) for obj in field.queryset.filter(pk__in=ids)]
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = full


class PickerSelect(_PickerMixin, forms.Select):
    pass


class PickerSelectMultiple(_PickerMixin, forms.SelectMultiple):
    pass


def picker_page(queryset: QuerySet, *, label, limit: int = PICKER_LIMIT) -> dict:
    """One search's answer: the first ``limit`` rows of an ordered ``queryset`` as options, and whether more match
    (one query: a row past the limit is read to know)."""
    rows = list(queryset[:limit + 1])
    return {"results": [{"value": row.pk, "text": label(row)} for row in rows[:limit]], "more": len(rows) > limit}
