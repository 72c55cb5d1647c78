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
})
