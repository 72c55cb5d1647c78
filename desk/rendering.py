"""An alert's title and message in the reader's language, from its kind and parameters (nothing translated is
stored). Called at render time, inside the reader's language (a request, or ``translation.override``)."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from merchants.models import Tier
from ops_platform.core.labels import code_label

RUN_LABELS = {
    "metrics": lambda: _("AARRR metrics run"),
    "customers": lambda: _("customer refresh"),
    "merchants": lambda: _("merchant metrics run"),
}


def _percent(value) -> str:
    if value is None:
        return "—"
    return f"{number_format(float(value) * 100, decimal_pos=1)}%"


def _figure(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    return number_format(value, decimal_pos=0 if value.is_integer() else 2, force_grouping=True)


def _signed_percent(value) -> str:
    if value is None:
        return "—"
    return ("+" if value >= 0 else "") + _percent(value)


def metric_label(metric: str) -> str:
    return {"acquisition": _("New customers (acquisition)"), "activation": _("Sign-ups (activation)"),
            "retention": _("Repeat orders (retention)"), "revenue": _("Revenue"), "referral": _("Referred sign-ups"),
            "conversion": _("Conversion"), "size": _("Size"), "value": _("The value")}.get(metric, metric)


def period_label(period: str) -> str:
    return {"day": _("day"), "week": _("week"), "month": _("month")}.get(period, period)


def _tier(code: str) -> str:
    try:
        return str(Tier(code).label)
    except ValueError:
        return code or "—"


def alert_title(kind: str, params: dict) -> str:
    p = params or {}
    if kind == "channel_quality":
        return _("Channel %(channel)s: customer quality dropped") % {
            "channel": code_label("channel", p.get("channel", ""))}
    if kind == "merchant_at_risk" and p.get("count", 1) > 1:
        return ngettext("%(count)s merchant fell to at-risk", "%(count)s merchants fell to at-risk",
                        p["count"]) % {"count": p["count"]}
    if kind == "merchant_at_risk":
        return _("%(code)s %(name)s fell to at-risk") % {"code": p.get("code", ""), "name": p.get("name", "")}
    if kind == "tracking_violations":
        return _("%(key)s %(title)s: tracking-plan violations") % {"key": p.get("key", ""),
                                                                   "title": p.get("title", "")}
    if kind == "run_failed" and p.get("run") == "export":
        return _("Your export (%(report)s) stopped") % {"report": p.get("report", "")}
    if kind == "run_failed":
        label = RUN_LABELS.get(p.get("run", ""), lambda: p.get("run", ""))()
        return _("The nightly %(run)s failed") % {"run": label}
    if kind == "insight_rule":
        return _("%(rule)s (on “%(insight)s”)") % {"rule": p.get("rule", ""), "insight": p.get("insight", "")}
    return kind


def alert_message(kind: str, params: dict) -> str:
    p = params or {}
    if kind == "channel_quality" and p.get("repeat_week"):
        return _("Week of %(week)s against the week before: activation rate %(activation_before)s → "
                 "%(activation_after)s. Week of %(repeat_week)s against the week before (every customer has had "
                 "%(days)s days): ordering again within %(days)s days %(repeat_before)s → %(repeat_after)s.") % {
            "week": p.get("week", ""), "repeat_week": p["repeat_week"], "days": p.get("repeat_days", 14),
            "activation_before": _percent(p.get("activation_before")),
            "activation_after": _percent(p.get("activation_after")),
            "repeat_before": _percent(p.get("repeat_before")), "repeat_after": _percent(p.get("repeat_after"))}
    if kind == "channel_quality":  # stored before repeat was judged on mature weeks
        return _("Week of %(week)s against the week before: activation rate %(activation_before)s → "
                 "%(activation_after)s, repeat rate %(repeat_before)s → %(repeat_after)s.") % {
            "week": p.get("week", ""),
            "activation_before": _percent(p.get("activation_before")),
            "activation_after": _percent(p.get("activation_after")),
            "repeat_before": _percent(p.get("repeat_before")), "repeat_after": _percent(p.get("repeat_after"))}
    if kind == "merchant_at_risk" and p.get("count", 1) > 1:
        named = ", ".join(f"{m.get('code', '')} {m.get('name', '')}" for m in p.get("merchants", []))
        more = p["count"] - len(p.get("merchants", []))
        text = _("Week of %(week)s: %(merchants)s") % {"week": p.get("week", ""), "merchants": named}
        if more > 0:
            text += " " + ngettext("and %(more)s more.", "and %(more)s more.", more) % {"more": more}
        return text
    if kind == "merchant_at_risk":
        return _("From %(from_tier)s to at-risk in the week of %(week)s (health score %(score)s).") % {
            "from_tier": _tier(p.get("from_tier", "")), "week": p.get("week", ""),
            "score": p.get("score") if p.get("score") is not None else "—"}
    if kind == "tracking_violations":
        return _("%(bad)s bad events (%(kinds)s kinds of violation) between %(date_from)s and %(date_to)s.") % {
            "bad": p.get("bad", 0), "kinds": p.get("kinds", 0), "date_from": p.get("date_from", ""),
            "date_to": p.get("date_to", "")}
    if kind == "insight_rule":
        return _("%(metric)s was %(value)s in the %(period)s of %(start)s; the %(period)s before: %(previous)s "
                 "(%(change)s).") % {
            "metric": metric_label(p.get("metric", "")), "value": _figure(p.get("value")),
            "period": period_label(p.get("period", "")), "start": p.get("period_start", ""),
            "previous": _figure(p.get("previous")), "change": _signed_percent(p.get("change"))}
    if kind == "run_failed":
        return _("Started %(started)s. %(error)s") % {"started": p.get("started", ""), "error": p.get("error", "")}
    return ""
