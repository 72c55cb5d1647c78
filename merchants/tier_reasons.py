"""Why the nightly run moved a merchant's tier, in the reader's language: the change stores a code and its figures
(``MerchantTierChange.reason_code`` / ``reason_params``), never translated words. Called at render time."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

FIRST = "first"  # a merchant's first tier, given at once from its first complete week
MOVED = "moved"  # confirmed by ``weeks`` complete weeks in a row beyond the buffer band


def tier_reason_params(*, score: int, orders: int, week, weeks: int, version: int) -> dict:
    return {"score": int(score), "orders": int(orders), "week": week.isoformat(), "weeks": int(weeks),
            "version": int(version)}


def orders_count_text(orders: int) -> str:
    """"1 order", "30 orders": the count of orders with its noun in the reader's language (ngettext), for the
    sentences that hold a second count of their own (a tier reason's weeks)."""
    return ngettext("%(count)d order", "%(count)d orders", orders) % {"count": orders}


def tier_reason_text(code: str, params: dict) -> str:
    p = {"score": 0, "orders": 0, "week": "", "weeks": 1, "version": 0, **(params or {})}
    p["orders"] = orders_count_text(int(p["orders"]))
    if code == FIRST:
        return _("first tier: health %(score)d, %(orders)s in the week of %(week)s (rules v%(version)d)") % p
    if code == MOVED:
        return ngettext(
            "health %(score)d, %(orders)s in the week of %(week)s, beyond the buffer band (rules v%(version)d)",
            "health %(score)d, %(orders)s in the week of %(week)s, beyond the buffer band for %(weeks)d "
            "complete weeks in a row (rules v%(version)d)", p["weeks"]) % p
    return code
