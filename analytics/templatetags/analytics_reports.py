"""Presentation helpers for the report pages: durations, percentages and heat-map shades."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from analytics.services.retention import retention_average

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
def moment(iso: str | None):
    """An ISO 8601 instant of a report's answer as an aware datetime (``|date`` then shows it in local time)."""
    return datetime.fromisoformat(iso) if iso else None


@register.filter
def percent(ratio) -> str:
    return f"{float(ratio or 0) * 100:.1f}%"


def _heat(part, whole) -> str:
    share = float(part) / float(whole) if whole else 0.0
    return f"rgba({HEAT_RGB}, {0.06 + 0.84 * share:.2f})" if part else EMPTY_CELL


def _retention_cell(count, size, *, complete: bool) -> dict:
    """A cohort's period k: ``future`` (not started: blank), ``so_far`` (in progress: its share so far, marked) or
    ``complete``."""
    if count is None:
        return {"state": "future", "count": None, "share": None, "shade": EMPTY_CELL}
    return {"state": "complete" if complete else "so_far", "count": count, "share": count / size if size else 0.0,
            "shade": _heat(count, size)}


@register.simple_tag
def retention_rows(report) -> list[dict]:
    """Each cohort with, per period, its count, its share of the cohort, the cell's shade and its state."""
    rows = []
    for cohort in report["cohorts"]:
        size, complete = cohort["size"], cohort.get("complete", len(cohort["retained"]))
        rows.append({"cohort": cohort["cohort"], "size": size, "complete": complete, "cells": [
            _retention_cell(count, size, complete=k < complete) for k, count in enumerate(cohort["retained"])]})
    return rows


@register.simple_tag
def retention_average_row(report) -> list[dict]:
    """Per period, the weighted average over the cohorts whose period is complete (blank when none is)."""
    return [{**cell, "shade": _heat(cell["retained"], cell["customers"]) if cell["share"] is not None else EMPTY_CELL}
            for cell in retention_average(report)]


@register.simple_tag
def retention_customers(group) -> int:
    """The customers in a breakdown group's cohorts."""
    return sum(cohort["size"] for cohort in group["cohorts"])


def period_word(period: str) -> str:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month")}.get(period, period)


@register.simple_tag
def retention_curve(report) -> dict:
    """The retention curve's data (static/js/charts.js, "retention-curve"): the average share per period, in %,
    over complete periods only (null where no cohort's period is complete yet)."""
    word = period_word(report["period"])
    average = retention_average(report)
    return {"labels": [f"{word} {cell['k']}" for cell in average],
            "values": [None if cell["share"] is None else round(cell["share"] * 100, 2) for cell in average],
            "customers": [cell["customers"] for cell in average]}


@register.simple_tag
def retention_period_word(report) -> str:
    return period_word(report["period"])


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
