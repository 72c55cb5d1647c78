"""Template helpers of the insights pages: a table cell in its column's format, and a report page's "Save as
insight" link carrying the report's exact parameters."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html

from insights.presenters import fmt
from ops_platform.core.reports import report_kind
from ops_platform.core.roles import Action, Area, can

register = template.Library()


@register.simple_tag
def cell(value, columns, index):
    kind = columns[index]["kind"] if index < len(columns) else "text"
    if kind in {"text", "date"}:
        return format_html("<td>{}</td>", "—" if value is None else value)
    return format_html('<td class="num">{}</td>', fmt(value, kind))


def _lists(data) -> list[tuple[str, str]]:
    if hasattr(data, "lists"):
        items = data.lists()
    else:
        items = ((name, value if isinstance(value, (list, tuple)) else [value]) for name, value in (data or {}).items())
    return [(name, str(value)) for name, values in items for value in values if value not in (None, "")]


@register.inclusion_tag("insights/_save_button.html", takes_context=True)
def save_as_insight(context, kind: str, data=None):
    """The report page's "Save as insight" link: its kind and the parameters in force (the bound form's data, or the
    query string). Shown to those who may save insights and read the report."""
    request = context.get("request")
    found = report_kind(kind)
    user = getattr(request, "user", None)
    if found is None or not (can(user, Area.INSIGHTS, Action.CHANGE) and can(user, found.area)):
        return {"url": ""}
    pairs = _lists(data if data is not None else request.GET)
    return {"url": f"{reverse('insights:new')}?{urlencode([('kind', kind), *pairs])}"}
