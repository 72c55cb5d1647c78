"""``{{ job.kind|report_label }}`` and ``{{ job.params|report_params:job.kind }}``: a downloadable report's name and
its stored parameters as a reader reads them, in the active language and time zone (ops_platform/core/report_files.py).
"""

from django import template

from ops_platform.core.report_files import report_file_label, report_params_display

register = template.Library()


@register.filter
def report_label(kind: str) -> str:
    return report_file_label(kind)


@register.filter
def report_params(params, kind: str) -> list[tuple[str, str]]:
    return report_params_display(kind, params or {})
