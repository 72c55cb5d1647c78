"""Codes shown as words in the reader's language (issue 17: Chinese all the way).

The data keep codes — a merchant's category ``food``, a channel ``wechat``, a stage ``at_risk`` — because scripts,
filters and exports rely on them. What a page shows is the code's label, looked up AT RENDER TIME with gettext, so
a Chinese reader sees 餐饮 and an English one "food" from the same row. A code nobody has named (a category typed by
hand, a channel a new campaign sends) is shown as it is: a name from the data.

One vocabulary per kind of code, registered by the app that owns it (``vocabulary_register`` at import of its
``labels`` module, loaded from its AppConfig.ready); the channel vocabulary lives here because channels come in with
the events (the canonical ``visit.channel``) and both ``analytics`` and ``users`` show them. Templates use the
``code_label`` filter (``{% load labels %}{{ merchant.category|code_label:"merchant_category" }}``), Python code
``code_label(kind, code)``; APIs keep the code and may add the label beside it.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

VOCABULARIES: dict[str, dict[str, Promise | str]] = {}


def vocabulary_register(kind: str, labels: dict[str, Promise | str]) -> None:
    """Add ``labels`` (code → lazy label) to the vocabulary ``kind`` (later registrations add, never remove)."""
    VOCABULARIES.setdefault(kind, {}).update(labels)


def code_label(kind: str, code) -> str:
    """The label of ``code`` in the active language; the code itself when the vocabulary does not name it."""
    if code is None:
        return ""
    label = VOCABULARIES.get(kind, {}).get(str(code))
    return str(label) if label is not None else str(code)


# First-touch channels: the demo's and the usual ones. "(none)" is what the engine puts for a missing channel.
vocabulary_register("channel", {
    "organic": _("organic search"),
    "app_store": _("app store"),
    "wechat": _("WeChat"),
    "douyin": _("Douyin"),
    "xiaohongshu": _("Xiaohongshu"),
    "baidu_sem": _("Baidu search ads"),
    "offline_flyer": _("offline flyers"),
    "referral": _("referral"),
    "direct": _("direct"),
    "(none)": _("(none)"),
    "(other)": _("(other)"),
    "(unresolved)": _("(unresolved referrer)"),
})


def with_channel_labels(rows: list[dict]) -> list[dict]:
    """Add ``channel_label`` beside each row's ``channel`` code (what a chart script shows); the rows, changed."""
    for row in rows:
        row["channel_label"] = code_label("channel", row.get("channel"))
    return rows

# What the engines put for a missing or a folded-away breakdown value (DESIGN.md: "(none)", "(other)").
BREAKDOWN_PLACEHOLDERS = {"(none)": _("(none)"), "(other)": _("(other)")}


def breakdown_value_label(value, breakdown: str = "") -> str:
    """A breakdown value as shown: "(none)"/"(other)" in words, a value of a property that has a vocabulary (the
    ``channel`` of ``properties.channel`` or ``channel``) by its label, any other value as it is (data)."""
    if value is None:
        return str(BREAKDOWN_PLACEHOLDERS["(none)"])
    if str(value) in BREAKDOWN_PLACEHOLDERS:
        return str(BREAKDOWN_PLACEHOLDERS[str(value)])
    kind = (breakdown or "").removeprefix("properties.")
    return code_label(kind, value) if kind in VOCABULARIES else str(value)


def trend_measure_label(*, event: str, measure: str, property: str = "") -> str:
    """A trend series without a breakdown, in words: the event (a name, kept) and what is measured."""
    if measure == "unique":
        return _("%(event)s · customers") % {"event": event}
    if measure == "sum":
        return _("%(event)s · sum of %(property)s") % {"event": event, "property": property}
    if measure == "avg":
        return _("%(event)s · average %(property)s") % {"event": event, "property": property}
    if measure == "median":
        return _("%(event)s · median %(property)s") % {"event": event, "property": property}
    return event  # total: the number of events


def trend_series_label(series: dict, *, breakdown: str = "") -> str:
    """The legend of one series of the trends contract (``{"label", "event", "measure", "property"?,
    "breakdown_value"?}``), built at render time in the reader's language; the API keeps its ``label`` as it is."""
    if "breakdown_value" in series:
        return breakdown_value_label(series["breakdown_value"], breakdown)
    return trend_measure_label(event=series.get("event", ""), measure=series.get("measure", ""),
                               property=series.get("property", ""))


# The two ends of a change of stage (life cycle) or tier (merchants), in their own translation context: "From"/"To" of
# a date range read 开始/结束 in Chinese, which says nothing about a move between stages (the page's flow table uses
# the same context).
CHANGE_FROM = pgettext_lazy("a change of stage or tier", "From")
CHANGE_TO = pgettext_lazy("a change of stage or tier", "To")
