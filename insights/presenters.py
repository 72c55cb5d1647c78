"""How a report's answer is shown on a tile, in an e-mail and in a workbook: a chart, a headline number and a table
per report kind, built from the report's JSON in the active language. A kind without a presenter here (a report
added later) still gets a table of its answer's top-level figures, and its page link.

Charts are plain specs (``{"type": "bar"|"line"|"heatmap", "labels", "datasets": [{"label", "data"}], "percent"}``)
that static/js/insights.js draws with Chart.js; time charts carry the launch markers and annotations of their range.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.utils import translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ops_platform.core.labels import code_label, trend_series_label
from ops_platform.core.periods import DAY, period_add, period_is_complete

STAGES = ("acquisition", "activation", "retention", "revenue", "referral")


def _stage_label(key: str) -> str:
    return {"acquisition": _("Acquisition"), "activation": _("Activation"), "retention": _("Retention"),
            "revenue": _("Revenue"), "referral": _("Referral"), "paying_customers": _("Paying customers")}.get(key, key)


def fmt(value, kind: str = "int") -> str:
    """A figure as the reader reads it: thousands grouped, ratios as percentages, money with two decimals."""
    if value is None:
        return "—"
    if kind == "percent":
        return f"{number_format(round(float(value) * 100, 1), decimal_pos=1)}%"  # number_format cuts, not rounds
    if kind == "money":
        return "¥" + number_format(round(float(value), 2), decimal_pos=2, force_grouping=True)
    if kind == "float":
        return number_format(round(float(value), 2), decimal_pos=2, force_grouping=True)
    if kind == "int":
        return number_format(round(float(value)), force_grouping=True)
    return str(value)


def _column(key: str, label: str, kind: str = "text") -> dict:
    return {"key": key, "label": label, "kind": kind}


def _number(value, kind: str, label: str, sub: str = "", items: list | None = None) -> dict:
    return {"value": value, "kind": kind, "display": fmt(value, kind), "label": label, "sub": sub,
            "items": items or []}


# Funnel


def _funnel(result: dict) -> dict:
    steps = result.get("steps", [])
    first = steps[0]["count"] if steps else 0
    last = steps[-1] if steps else {}
    chart = {"type": "bar", "labels": [f"{i + 1}. {step['event']}" for i, step in enumerate(steps)],
             "datasets": [{"label": _("Customers"), "data": [step["count"] for step in steps]}]}
    sub = (_("%(entered)s entered, %(converted)s reached the last step")
           % {"entered": fmt(first), "converted": fmt(last.get("count"))})
    still_open = (result.get("window") or {}).get("entrants_open") or 0
    if still_open:  # their later steps can still come: the conversion is so far (README, "Windows still open")
        sub += " · " + _("so far: %(open)s can still convert") % {"open": fmt(still_open)}
    number = _number(last.get("conversion_from_first"), "percent", _("Conversion, first to last step"), sub)
    table = {"columns": [_column("step", _("Step")), _column("event", _("Event")),
                         _column("count", _("Customers"), "int"),
                         _column("from_previous", _("From previous step"), "percent"),
                         _column("from_first", _("From first step"), "percent")],
             "rows": [[i + 1, step["event"], step["count"], step["conversion_from_previous"] if i else None,
                       step["conversion_from_first"]] for i, step in enumerate(steps)]}
    return {"chart": chart, "number": number, "table": table}


# Retention


def _retention_curve(result: dict, today: date | None = None) -> list[float | None]:
    """The share of customers retained in period k, over the cohorts whose period k has ended (weighted by size)."""
    period = result.get("period", "week")
    cohorts = result.get("cohorts", [])
    width = max((len(c.get("retained", [])) for c in cohorts), default=0)
    curve = []
    for k in range(width):
        kept = size = 0
        for cohort in cohorts:
            retained = cohort.get("retained", [])
            if k >= len(retained) or retained[k] is None:
                continue
            complete = (k < cohort["complete"] if "complete" in cohort else period_is_complete(
                period_add(date.fromisoformat(cohort["cohort"]), period, k), period, today=today))
            if complete:
                kept += retained[k]
                size += cohort["size"]
        curve.append(kept / size if size else None)
    return curve


def _period_word(period: str) -> str:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month")}.get(period, period)


def _retention(result: dict) -> dict:
    curve = _retention_curve(result)
    word = _period_word(result.get("period", "week"))
    labels = [f"{word} {k}" for k in range(len(curve))]
    chart = {"type": "line", "percent": True, "labels": labels,
             "datasets": [{"label": _("Retained (complete periods)"), "data": curve}]}
    cohorts = result.get("cohorts", [])
    number = _number(curve[1] if len(curve) > 1 else None, "percent",
                     _("Retained in %(period)s 1") % {"period": word.lower()},
                     _("%(cohorts)s cohorts, %(customers)s customers") % {
                         "cohorts": len(cohorts), "customers": fmt(sum(c["size"] for c in cohorts))})
    width = len(curve)
    table = {"columns": [_column("cohort", _("Cohort"), "date"), _column("size", _("Customers"), "int"),
                         *[_column(f"p{k}", f"{word} {k}", "percent") for k in range(width)]],
             "rows": [[c["cohort"], c["size"], *[(r / c["size"] if c["size"] and r is not None else None)
                                                  for r in c.get("retained", [])]] for c in cohorts]}
    return {"chart": chart, "number": number, "table": table}


# Golden time


def _golden_time(result: dict) -> dict:
    matrix = result.get("matrix", [])
    days = [str(WEEKDAYS_ABBR[d]) for d in range(7)]
    chart = {"type": "heatmap", "labels": [f"{h:02d}" for h in range(24)], "rows": days, "matrix": matrix}
    top = result.get("top", [])
    busiest = (_("busiest: %(day)s %(hour)s:00") % {"day": days[top[0]["weekday"]], "hour": f"{top[0]['hour']:02d}"}
               if top else "")
    number = _number(result.get("total"), "int", _("%(event)s events") % {"event": result.get("event", "")}, busiest)
    table = {"columns": [_column("weekday", _("Weekday")), *[_column(f"h{h}", f"{h:02d}", "int") for h in range(24)]],
             "rows": [[days[d], *row] for d, row in enumerate(matrix)]}
    return {"chart": chart, "number": number, "table": table}


# AARRR


def _day_notes(days: list) -> list[str | None]:
    """"so far" under each day that is not complete (today; the chart hatches or dashes it), else None."""
    return [None if period_is_complete(date.fromisoformat(str(day)), DAY) else _("so far") for day in days]


def _aarrr_compared(window: dict | None) -> str:
    """What the stages' changes compare (``aarrr_comparison_window``): the whole range, the days of it measured so
    far against the same days before, or nothing yet. A result stored before the window was kept: the old words."""
    if not window or window["complete"]:
        return _("against the previous period of the same length")
    if not window["days"]:
        return _("not measured yet: the nightly run computes each day once it has ended")
    return ngettext("so far: %(days)s of %(range_days)s days, against the same day before",
                    "so far: %(days)s of %(range_days)s days, against the same days before",
                    window["days"]) % {"days": window["days"], "range_days": window["range_days"]}


def _aarrr(result: dict) -> dict:
    series = result.get("series", [])
    chart = {"type": "line", "dates": True, "labels": [row["date"] for row in series],
             "datasets": [{"label": _stage_label(key), "data": [row.get(key) for row in series],
                           "axis": "y2" if key == "revenue" else "y"} for key in STAGES],
             "partial": _day_notes([row["date"] for row in series])}
    items = [{"label": _stage_label(stage["key"]), "display": fmt(stage["value"], "money" if stage["key"] == "revenue"
                                                                  else "int"),
              "change": stage.get("change"), "change_display": fmt(stage.get("change"), "percent")}
             for stage in result.get("stages", [])]
    activation = next((s for s in result.get("stages", []) if s["key"] == "activation"), {})
    number = _number(activation.get("value"), "int", "", _aarrr_compared(result.get("comparison")), items=items)
    table = {"columns": [_column("date", _("Date"), "date"), *[_column(key, _stage_label(key),
                                                                       "money" if key == "revenue" else "int")
                                                               for key in (*STAGES, "paying_customers")]],
             "rows": [[row["date"], *[row.get(key) for key in (*STAGES, "paying_customers")]] for row in series]}
    return {"chart": chart, "number": number, "table": table}


# Users' reports


def _channel_quality(result: dict) -> dict:
    channels = [row for row in result.get("channels", []) if row.get("visitors")]
    chart = {"type": "bar", "labels": [code_label("channel", row["channel"]) for row in channels], "percent": True,
             "datasets": [{"label": _("Activation rate"), "data": [row.get("activation_rate") for row in channels]},
                          {"label": _("Repeat within 14 days"),
                           "data": [row.get("repeat_rate_14d") for row in channels]}]}
    best = channels[0] if channels else {}
    best_channel = code_label("channel", best.get("channel", "—"))
    number = _number(best.get("roi"), "percent", _("Best channel: %(channel)s") % {"channel": best_channel},
                     _("ROI; %(visitors)s new customers") % {"visitors": fmt(best.get("visitors"))})
    table = {"columns": [_column("rank", _("Rank"), "int"), _column("channel", _("Channel")),
                         _column("visitors", _("New customers"), "int"), _column("signups", _("Sign-ups"), "int"),
                         _column("activation_rate", _("Activation rate"), "percent"),
                         _column("repeat_rate_14d", _("Repeat within 14 days"), "percent"),
                         _column("spend", _("Spend"), "money"),
                         _column("roi", _("ROI"), "percent")],
             "rows": [[row.get("rank"), code_label("channel", row["channel"]), row.get("visitors"), row.get("signups"),
                       row.get("activation_rate"), row.get("repeat_rate_14d"), row.get("spend"), row.get("roi")]
                      for row in result.get("channels", [])]}
    return {"chart": chart, "number": number, "table": table}


def _in_words(kind: str, code: str, stored: dict) -> str:
    """A code by its label in the reader's language; the label the answer stored (its computing language) only for a
    code no vocabulary names. Stored answers are shared by readers of every language."""
    label = code_label(kind, code)
    return stored.get(code, code) if label == code else label


def _lifecycle(result: dict) -> dict:
    dates, stages, stored = result.get("dates", []), result.get("stages", {}), result.get("labels", {})
    labels = {stage: _in_words("lifecycle_stage", stage, stored) for stage in stages}
    chart = {"type": "line", "dates": True, "labels": dates,
             "datasets": [{"label": labels.get(stage, stage), "data": values} for stage, values in stages.items()]}
    items = [{"label": labels.get(stage, stage), "display": fmt(values[-1] if values else None), "change": None,
              "change_display": ""} for stage, values in stages.items()]
    active = stages.get("active") or []
    number = _number(active[-1] if active else None, "int", labels.get("active", _("Active")),
                     _("customers per stage on %(day)s") % {"day": dates[-1]} if dates else "", items=items)
    table = {"columns": [_column("date", _("Date"), "date"), *[_column(stage, labels.get(stage, stage), "int")
                                                               for stage in stages]],
             "rows": [[day, *[stages[stage][i] for stage in stages]] for i, day in enumerate(dates)]}
    return {"chart": chart, "number": number, "table": table}


def _customers(result: dict) -> dict:
    stages = result.get("stages", [])
    names = [_in_words("lifecycle_stage", row.get("stage", ""), {row.get("stage", ""): row["label"]}) for row in stages]
    chart = {"type": "bar", "labels": names,
             "datasets": [{"label": _("Customers"), "data": [row["customers"] for row in stages]}]}
    number = _number(result.get("customers"), "int", _("Customers"),
                     _("%(buyers)s buyers, %(spend)s spent") % {"buyers": fmt(result.get("buyers")),
                                                                 "spend": fmt(result.get("spend"), "money")})
    segments = result.get("rfm_segments", {})
    table = {"columns": [_column("segment", _("RFM segment")), _column("customers", _("Customers"), "int")],
             "rows": [[code_label("rfm_segment", name), count] for name, count in segments.items()]}
    return {"chart": chart, "number": number, "table": table}


def _segment_size(result: dict) -> dict:
    sizes = result.get("sizes", [])
    chart = {"type": "line", "dates": True, "labels": [row["date"] for row in sizes],
             "datasets": [{"label": result.get("segment", {}).get("name", ""), "data": [row["size"] for row in sizes]}]}
    start = next((row["size"] for row in sizes if row["size"] is not None), None)
    end = result.get("size")
    change = (end - start) / start if start and end is not None else None
    number = _number(end, "int", _("Segment %(name)s") % {"name": result.get("segment", {}).get("name", "")},
                     _("%(change)s over the range") % {"change": fmt(change, "percent")} if change is not None else "")
    table = {"columns": [_column("date", _("Date"), "date"), _column("size", _("Size"), "int")],
             "rows": [[row["date"], row["size"]] for row in sizes]}
    return {"chart": chart, "number": number, "table": table}


def _referrers(result: dict) -> dict:
    top = result.get("top", [])
    chart = {"type": "bar", "labels": [row["referrer"] for row in top[:10]],
             "datasets": [{"label": _("Referred sign-ups"), "data": [row["referred"] for row in top[:10]]}]}
    number = _number(top[0]["referred"] if top else None, "int", _("Top referrer: %(who)s") % {
        "who": top[0]["referrer"] if top else "—"}, _("referred sign-ups"))
    table = {"columns": [_column("referrer", _("Referrer")), _column("referred", _("Referred sign-ups"), "int"),
                         _column("buyers", _("Buyers"), "int"), _column("spend", _("Spend"), "money")],
             "rows": [[row["referrer"], row["referred"], row["buyers"], row.get("spend")] for row in top]}
    return {"chart": chart, "number": number, "table": table}


# The weekly digest's sections (goals, merchants, tickets, alerts)


def _in_language(by_language: dict) -> dict:
    """The reader's entry of a ``{language: …}`` map an answer carries (English when it has no other)."""
    language = translation.get_language() or "en"
    return by_language.get(language) or by_language.get(language.split("-")[0]) or by_language.get("en") or {}


def _team_goals(result: dict) -> dict:
    goals = result.get("goals", [])
    on_pace = len([g for g in goals if g.get("pace") in {"ahead", "on_track"}])
    chart = {"type": "bar", "percent": True, "labels": [g["title"] for g in goals],
             "datasets": [{"label": _("Progress"), "data": [g.get("progress") for g in goals]},
                          {"label": _("Expected by now"), "data": [g.get("expected") for g in goals]}]}
    paces = {"ahead": _("ahead"), "on_track": _("on track"), "behind": _("behind"), "pending": _("not judged yet")}
    number = _number(on_pace, "int", _("Goals on pace"), _("of %(count)s") % {"count": len(goals)})
    table = {"columns": [_column("goal", _("Goal")), _column("metric", _("Metric")),
                         _column("target", _("Target"), "float"), _column("value", _("Value"), "float"),
                         _column("progress", _("Progress"), "percent"), _column("pace", _("Pace"))],
             "rows": [[g["title"], g.get("metric_label") or g.get("metric"), g.get("target"), g.get("value"),
                       g.get("progress"), str(paces.get(g.get("pace"), g.get("pace") or ""))] for g in goals]}
    return {"chart": chart, "number": number, "table": table}


def _tier_moves(result: dict) -> dict:
    labels = _in_language(result.get("tier_labels", {}))
    items = [{"label": _("up"), "display": fmt(result.get("up")), "change": None, "change_display": ""},
             {"label": _("down"), "display": fmt(result.get("down")), "change": None, "change_display": ""},
             {"label": _("first tier"), "display": fmt(result.get("new")), "change": None, "change_display": ""}]
    chart = {"type": "bar", "labels": [str(_("up")), str(_("down")), str(_("first tier"))],
             "datasets": [{"label": _("Merchants"), "data": [result.get("up"), result.get("down"), result.get("new")]}]}
    number = _number(result.get("down"), "int", _("Merchants that moved a tier"), items=items)
    table = {"columns": [_column("code", _("Merchant")), _column("name", _("Name")), _column("from", _("From")),
                         _column("to", _("To"))],
             "rows": [[m["code"], m["name"], labels.get(m["from_tier"], m["from_tier"] or "—"),
                       labels.get(m["to_tier"], m["to_tier"])] for m in result.get("moves", [])]}
    return {"chart": chart, "number": number, "table": table}


def _launches(result: dict) -> dict:
    outcomes = _in_language(result.get("outcome_labels", {}))
    launched, concluded = result.get("launched", []), result.get("concluded", [])
    number = _number(len(launched), "int", _("Launched"), _("%(count)s concluded") % {"count": len(concluded)})
    table = {"columns": [_column("ticket", _("Ticket")), _column("title", _("Title")), _column("what", _("Event")),
                         _column("date", _("Date"), "date"), _column("outcome", _("Outcome"))],
             "rows": [[t["key"], t["title"], str(_("launched")), t["date"], ""] for t in launched]
             + [[t["key"], t["title"], str(_("concluded")), t["date"], outcomes.get(t.get("outcome"), t.get("outcome"))]
                for t in concluded]}
    return {"chart": None, "number": number, "table": table}


def _team_alerts(result: dict) -> dict:
    alerts = result.get("alerts", [])
    language = translation.get_language() or "en"
    number = _number(len(alerts), "int", _("Alerts"))
    table = {"columns": [_column("day", _("Day"), "date"), _column("severity", _("Severity")),
                         _column("alert", _("Alert")), _column("details", _("Details"))],
             "rows": [[a["day"], code_label("alert_severity", a["severity"]),
                       a.get("titles", {}).get(language) or a.get("titles", {}).get("en"),
                       a.get("messages", {}).get(language) or a.get("messages", {}).get("en")] for a in alerts]}
    return {"chart": None, "number": number, "table": table}


# Trends and stickiness


def _trends(result: dict, query: dict | None = None) -> dict:
    series = [s for s in result.get("series", []) if not s.get("compare")]
    labels = [point["period"] for point in series[0]["points"]] if series else []
    breakdown = _first_value((query or {}).get("breakdown"))
    named = [trend_series_label(s, breakdown=breakdown) for s in series]  # in the reader's language, not the API's
    chart = {"type": "line", "dates": True, "labels": labels,
             "datasets": [{"label": name, "data": [point["value"] for point in s["points"]]}
                          for name, s in zip(named, series, strict=True)]}
    kind = "int" if result.get("measure") in ("total", "unique") else "float"
    complete = [point["value"] for s in series[:1] for point in s["points"] if point["complete"]]
    number = _number(complete[-1] if complete else None, kind, _("Last complete period"))
    table = {"columns": [_column("series", _("Series")), *[_column(label, label, kind) for label in labels]],
             "rows": [[name, *[point["value"] for point in s["points"]]]
                      for name, s in zip(named, series, strict=True)]}
    return {"chart": chart, "number": number, "table": table}


def _first_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return str(value or "")


def _stickiness(result: dict) -> dict:
    days = result.get("days", [])
    chart = {"type": "line", "dates": True, "labels": [day["date"] for day in days], "datasets": [
        {"label": "DAU", "data": [day["dau"] for day in days]}, {"label": "WAU", "data": [day["wau"] for day in days]},
        {"label": "MAU", "data": [day["mau"] for day in days]}]}
    complete = [day for day in days if day["complete"]]
    number = _number(complete[-1]["dau_mau"] if complete else None, "percent", "DAU/MAU")
    table = {"columns": [_column("date", _("Date"), "date"), _column("dau", "DAU", "int"),
                         _column("wau", "WAU", "int"), _column("mau", "MAU", "int"),
                         _column("dau_mau", "DAU/MAU", "percent")],
             "rows": [[day["date"], day["dau"], day["wau"], day["mau"], day["dau_mau"]] for day in days]}
    return {"chart": chart, "number": number, "table": table}


def _generic(result: dict) -> dict:
    rows = [[key, value] for key, value in result.items() if isinstance(value, (int, float, str)) or value is None]
    return {"chart": None, "number": _number(None, "int", ""),
            "table": {"columns": [_column("key", _("Figure")), _column("value", _("Value"))], "rows": rows}}


PRESENTERS: dict[str, Callable[[dict], dict]] = {
    "funnel": _funnel, "retention": _retention, "golden_time": _golden_time, "aarrr": _aarrr,
    "channel_quality": _channel_quality, "lifecycle": _lifecycle, "customers": _customers,
    "segment_size": _segment_size, "referrers": _referrers, "team_goals": _team_goals, "tier_moves": _tier_moves,
    "launches": _launches, "team_alerts": _team_alerts, "trends": _trends, "stickiness": _stickiness,
}


# Presenters that name things after the query (a breakdown's values) get it too.
WITH_QUERY = {"trends"}


def present(*, kind: str, result: dict, markers: list[dict] | None = None, query: dict | None = None) -> dict:
    """``{"chart", "number", "table"}`` for ``result``, in the active language; time charts get ``markers``."""
    presenter = PRESENTERS.get(kind, _generic)
    shown = presenter(result, query) if kind in WITH_QUERY else presenter(result)
    if shown["chart"] is not None and shown["chart"].get("dates"):
        shown["chart"]["markers"] = [{"date": str(m["date"]), "label": m["label"], "kind": m.get("kind", "")}
                                     for m in markers or []]
    return shown


def number_of(*, kind: str, result: dict) -> float | None:
    """The headline figure of a report's answer (what a number tile shows)."""
    value = PRESENTERS.get(kind, _generic)(result)["number"]["value"]
    return None if value is None else float(value)
