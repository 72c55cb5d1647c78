from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value) -> str:
    try:
        return f"{round(float(value) * 100)}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def bar_width(value) -> int:
    try:
        return max(0, min(100, round(float(value) * 100)))
    except (TypeError, ValueError):
        return 0


@register.filter
def expected_width(summary: dict) -> int:
    """Where the expected value sits on the progress bar (same scale as ``progress``)."""
    start = summary.get("start") or 0
    span = summary["target"] - start
    if not span:
        return 0
    return max(0, min(100, round((summary["expected"] - start) / span * 100)))


@register.filter
def metric_value(value, unit: str = "count") -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return number_format(float(value), 2)
    if unit == "percent":
        return f"{number_format(float(value), 1)}%"
    if unit == "money":
        return number_format(round(float(value)), 0, force_grouping=True)
    return number_format(round(float(value), 1) if float(value) % 1 else int(value), force_grouping=True)
