"""Launch impact: the ticket's target metric in equal windows before and after its launch, a significance test
fit for the metric (two-proportion z-test for a conversion, Welch's t-test for a mean), and the analyst's
conclusion stored with the numbers."""

from __future__ import annotations

import math
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy import stats

from analytics import selectors as analytics
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Area, can
from products.models import ImpactAnalysis, Ticket
from products.services.plans import local_range
from products.services.tickets import ticket_check_open

# metric -> how it is measured on the events
METRICS = {
    Ticket.Metric.SIGNUP_RATE: {"kind": "proportion", "base": "visit", "goal": "signup"},
    Ticket.Metric.ORDER_RATE: {"kind": "proportion", "base": "visit", "goal": "order_paid"},
    Ticket.Metric.CART_RATE: {"kind": "proportion", "base": "view_merchant", "goal": "add_to_cart"},
    Ticket.Metric.REVIEW_RATE: {"kind": "proportion", "base": "order_received", "goal": "review"},
    Ticket.Metric.REVENUE_PER_CUSTOMER: {"kind": "mean", "base": "visit", "goal": "order_paid", "value": "amount"},
}
MAX_WINDOW_DAYS = 60
SIGNIFICANCE = 0.05


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int) -> dict:
    """Pooled two-sided z-test of p2 − p1. ``p_value`` is None when a side is empty or the pool is degenerate."""
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    result = {"before": p1, "after": p2, "difference": p2 - p1, "relative_change": (p2 - p1) / p1 if p1 else None,
              "test": "two-proportion z-test", "statistic": None, "p_value": None}
    if not n1 or not n2:
        return result
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return result
    z = (p2 - p1) / se
    result.update(statistic=z, p_value=float(2 * stats.norm.sf(abs(z))))
    return result


def welch_t_test(*, mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int) -> dict:
    """Welch's two-sided t-test of mean2 − mean1 from summary statistics."""
    result = {"before": mean1, "after": mean2, "difference": mean2 - mean1,
              "relative_change": (mean2 - mean1) / mean1 if mean1 else None, "test": "Welch's t-test",
              "statistic": None, "p_value": None}
    if n1 < 2 or n2 < 2 or (var1 == 0 and var2 == 0):
        return result
    test = stats.ttest_ind_from_stats(mean2, math.sqrt(var2), n2, mean1, math.sqrt(var1), n1, equal_var=False)
    result.update(statistic=float(test.statistic), p_value=float(test.pvalue))
    return result


def impact_windows(*, launch_day: date, window_days: int) -> dict:
    """Equal windows: the ``window_days`` days before the launch day and the ``window_days`` days from it."""
    return {"before_from": launch_day - timedelta(days=window_days), "before_to": launch_day - timedelta(days=1),
            "after_from": launch_day, "after_to": launch_day + timedelta(days=window_days - 1)}


def impact_measure(*, metric: str, before_from: date, before_to: date, after_from: date, after_to: date) -> dict:
    spec = METRICS[Ticket.Metric(metric)]
    before, after = local_range(before_from, before_to), local_range(after_from, after_to)
    if spec["kind"] == "proportion":
        b = analytics.event_conversion_counts(base_event=spec["base"], goal_event=spec["goal"], start=before[0],
                                              end=before[1])
        a = analytics.event_conversion_counts(base_event=spec["base"], goal_event=spec["goal"], start=after[0],
                                              end=after[1])
        test = two_proportion_z_test(x1=b["converted"], n1=b["base"], x2=a["converted"], n2=a["base"])
        samples = {"before": b, "after": a}
    else:
        b = analytics.event_value_per_customer(base_event=spec["base"], value_event=spec["goal"],
                                               value_property=spec["value"], start=before[0], end=before[1])
        a = analytics.event_value_per_customer(base_event=spec["base"], value_event=spec["goal"],
                                               value_property=spec["value"], start=after[0], end=after[1])
        test = welch_t_test(mean1=b["mean"], var1=b["variance"], n1=b["n"], mean2=a["mean"], var2=a["variance"],
                            n2=a["n"])
        samples = {"before": b, "after": a}
    daily = analytics.event_daily_customers(events=[spec["base"], spec["goal"]], start=before[0], end=after[1])
    if spec["kind"] == "mean":  # the day's total value per customer with a base event that day
        daily[spec["goal"]] = analytics.event_daily_value_sum(event=spec["goal"], value_property=spec["value"],
                                                              start=before[0], end=after[1])
    days = (after_to - before_from).days + 1
    series = []
    for offset in range(days):
        day = before_from + timedelta(days=offset)
        base = daily[spec["base"]].get(day, 0)
        goal = daily[spec["goal"]].get(day, 0)
        series.append({"date": day.isoformat(), "value": goal / base if base else None})
    label = f"{spec['goal']} / {spec['base']} customers"
    if spec["kind"] == "mean":
        label = f"sum({spec['value']}) of {spec['goal']} / {spec['base']} customers"
    significant = test["p_value"] is not None and test["p_value"] < SIGNIFICANCE
    return {"metric": str(metric), "kind": spec["kind"], "samples": samples, **test, "significant": significant,
            "alpha": SIGNIFICANCE, "series": series,
            "series_label": label}


@transaction.atomic
def impact_analysis_create(*, ticket_id: int, actor, window_days: int, metric: str | None = None,
                           conclusion: str = "") -> ImpactAnalysis:
    """Measure the ticket's target metric in equal windows around its launch and store it with the conclusion."""
    if not can(actor, Area.IMPACT, "change"):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise ApplicationError(_("No such ticket."), status_code=404, code="not_found")
    ticket_check_open(ticket)
    if ticket.launched_at is None:
        raise ApplicationError(_("The ticket has not been launched yet."),
                               errors={"ticket": [_("Launch it before measuring its impact.")]})
    metric = metric or ticket.target_metric
    errors = {}
    if metric not in Ticket.Metric.values:
        errors["metric"] = [_("Choose the metric to measure (the ticket has no target metric).")]
    if not isinstance(window_days, int) or not 1 <= window_days <= MAX_WINDOW_DAYS:
        errors["window_days"] = [_("Between 1 and %(n)d days.") % {"n": MAX_WINDOW_DAYS}]
    if errors:
        raise ApplicationError(_("The analysis has invalid fields; see errors."), errors=errors)
    windows = impact_windows(launch_day=timezone.localdate(ticket.launched_at), window_days=window_days)
    if windows["after_to"] >= timezone.localdate():
        raise ApplicationError(_("The after window is not over yet."), errors={"window_days": [
            _("The after window must end before today: choose at most %(n)d days.") % {
                "n": max(0, (timezone.localdate() - windows["after_from"]).days)}]})
    numbers = impact_measure(metric=metric, **windows)
    return ImpactAnalysis.objects.create(ticket=ticket, metric=metric, window_days=window_days, numbers=numbers,
                                         p_value=numbers["p_value"], conclusion=conclusion.strip()[:5000],
                                         analyst=actor, **windows)
