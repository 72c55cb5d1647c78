"""Presentation helpers for the report pages: durations, percentages and heat-map shades."""

from __future__ import annotations

from django import template
from django.utils.dates import WEEKDAYS_ABBR

register = template.Library()

HEAT_RGB = "59, 111, 216"
EMPTY_CELL = "#f1f4f9"


@register.filter
def duration(seconds) -> str:
    """Seconds as ``[N d ]HH:MM:SS`` (language-neutral); ``—`` when there is none."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days} d {clock}" if days else clock


@register.filter
def percent(ratio) -> str:
    return f"{float(ratio or 0) * 100:.1f}%"


def _heat(part, whole) -> str:
    share = float(part) / float(whole) if whole else 0.0
    return f"rgba({HEAT_RGB}, {0.06 + 0.84 * share:.2f})" if part else EMPTY_CELL


@register.simple_tag
def retention_rows(report) -> list[dict]:
    """Each cohort with, per period, its count, its share of the cohort and the cell's shade."""
    rows = []
    for cohort in report["cohorts"]:
        size = cohort["size"]
        rows.append({"cohort": cohort["cohort"], "size": size, "cells": [
            {"count": count, "share": count / size if size else 0.0, "shade": _heat(count, size)}
            for count in cohort["retained"]]})
    return rows


@register.simple_tag
def golden_rows(report) -> list[dict]:
    """Monday … Sunday, each with its 24 hourly cells shaded against the busiest slot."""
    busiest = max((max(row) for row in report["matrix"]), default=0)
    return [{"weekday": WEEKDAYS_ABBR[day], "cells": [{"hour": hour, "count": count, "shade": _heat(count, busiest)}
                                                      for hour, count in enumerate(row)]}
            for day, row in enumerate(report["matrix"])]


@register.filter
def weekday_name(index) -> str:
    return WEEKDAYS_ABBR[int(index)]


@register.filter
def light_text(shade: str) -> bool:
    """Whether a cell this dark needs light text."""
    if not shade.startswith("rgba"):
        return False
    return float(shade.rsplit(",", 1)[1].rstrip(") ")) > 0.5


@register.simple_tag
def step_values(values) -> list[str]:
    """The step fields to show: what was entered (at least two fields)."""
    values = list(values or [])
    if len(values) == 1 and "," in values[0]:
        values = values[0].split(",")
    return values + [""] * (2 - len(values)) if len(values) < 2 else values
