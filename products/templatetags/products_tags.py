import json

from django import template

from products.rendering import markdown_render

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    return markdown_render(text)


@register.filter(name="percent")
def percent(value):
    """0.1234 → "12.3%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter(name="as_json")
def as_json(value) -> str:
    """Event properties as JSON (not Python's repr), for the examples of violations."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
