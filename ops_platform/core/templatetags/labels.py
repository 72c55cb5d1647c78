"""``{{ code|code_label:"kind" }}``: a code's label in the reader's language (ops_platform/core/labels.py)."""

from django import template

from ops_platform.core.labels import code_label as _code_label

register = template.Library()


@register.filter
def code_label(code, kind: str) -> str:
    return _code_label(kind, code)


@register.filter
def code_labels(codes, kind: str) -> list[str]:
    """``{{ campaign.target_tiers|code_labels:"tier"|join:", " }}``: each code of a list by its label."""
    return [_code_label(kind, code) for code in codes or []]
