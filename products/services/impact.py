"""Launch impact: the ticket's target metric in equal windows before and after its launch, a significance test
fit for the metric (two-proportion z-test for a conversion, Welch's t-test for a mean, ops_platform.core.stats),
and the analyst's conclusion stored with the numbers.

One measure for the headline and the chart: the unit is the **customer-day** (a customer with the base event on a
day). A conversion is the share of those customer-days with the goal event the same day; revenue per customer is
the day's paid amount of those customers per customer-day. The chart plots each day's value; the headline is the
same measure over the window's days (their values weighted by the day's customers), drawn on the chart as the
window's level. The test treats customer-days as independent units.

Windows: ``window_days`` whole local days before the launch day, and as many from the launch day on. The after
window must have ended: a launch on day L can be measured with a ``w``-day window from day ``L + w`` on (the
first measurement possible is a 1-day window on the day after the launch).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors as analytics
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Area, can
from ops_platform.core.stats import mean_and_variance, two_proportion_z_test, welch_t_test
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
__all__ = ["impact_analysis_create", "impact_availability", "impact_available_from", "impact_chart",
           "impact_measure", "impact_windows", "two_proportion_z_test", "welch_t_test"]


def impact_windows(*, launch_day: date, window_days: int) -> dict:
    """Equal windows: the ``window_days`` days before the launch day and the ``window_days`` days from it."""
    return {"before_from": launch_day - timedelta(days=window_days), "before_to": launch_day - timedelta(days=1),
            "after_from": launch_day, "after_to": launch_day + timedelta(days=window_days - 1)}


def impact_available_from(*, launch_day: date, window_days: int = 1) -> date:
    """The first day a ``window_days``-day window around a launch on ``launch_day`` can be measured (its after
    window has ended by then)."""
    return launch_day + timedelta(days=window_days)


def impact_availability(*, launched_at) -> dict:
    """For the ticket page: the launch day, the first day a measurement is possible (a 1-day window), and the
    longest window that can be measured today (0 on the launch day)."""
    launch_day = timezone.localdate(launched_at)
    return {"launch_day": launch_day, "first_day": impact_available_from(launch_day=launch_day),
            "longest": min(max(0, (timezone.localdate() - launch_day).days), MAX_WINDOW_DAYS)}


def _window(days: dict[date, dict], first: date, last: date) -> dict:
    rows = [row for day, row in days.items() if first <= day <= last]
    return {key: sum(row[key] for row in rows) for key in ("base", "converted", "total", "squares")}


def impact_measure(*, metric: str, before_from: date, before_to: date, after_from: date, after_to: date) -> dict:
    spec = METRICS[Ticket.Metric(metric)]
    start, end = local_range(before_from, after_to)
    days = analytics.event_customer_day_totals(base_event=spec["base"], goal_event=spec["goal"], start=start,
                                               end=end, value_property=spec.get("value"))
    b, a = _window(days, before_from, before_to), _window(days, after_from, after_to)
    if spec["kind"] == "proportion":
        test = two_proportion_z_test(x1=b["converted"], n1=b["base"], x2=a["converted"], n2=a["base"],
                                     alpha=SIGNIFICANCE)
        samples = {"before": {"base": b["base"], "converted": b["converted"]},
                   "after": {"base": a["base"], "converted": a["converted"]}}
        label = f"{spec['goal']} / {spec['base']} customer-days"
    else:
        mean1, var1 = mean_and_variance(n=b["base"], total=b["total"], squares=b["squares"])
        mean2, var2 = mean_and_variance(n=a["base"], total=a["total"], squares=a["squares"])
        test = welch_t_test(mean1=mean1, var1=var1, n1=b["base"], mean2=mean2, var2=var2, n2=a["base"],
                            alpha=SIGNIFICANCE)
        samples = {"before": {"n": b["base"], "mean": mean1, "variance": var1},
                   "after": {"n": a["base"], "mean": mean2, "variance": var2}}
        label = f"sum({spec['value']}) of {spec['goal']} / {spec['base']} customer-days"
    series = []
    for offset in range((after_to - before_from).days + 1):
        day = before_from + timedelta(days=offset)
        row = days.get(day)
        value = None
        if row and row["base"]:
            value = (row["converted"] if spec["kind"] == "proportion" else row["total"]) / row["base"]
        series.append({"date": day.isoformat(), "value": value,
                       "window": "before" if day <= before_to else "after"})
    significant = test["p_value"] is not None and test["p_value"] < SIGNIFICANCE
    return {"metric": str(metric), "kind": spec["kind"], "unit": "customer_day", "samples": samples, **test,
            "significant": significant, "alpha": SIGNIFICANCE, "series": series, "series_label": label,
            "window_days": (before_to - before_from).days + 1}


def impact_chart(analysis: ImpactAnalysis) -> dict:
    """The ticket page's chart of a stored analysis: each day's value, and each window's headline value drawn as
    a level over its days (the same measure: the headline is the days' values weighted by their customers)."""
    numbers = analysis.numbers
    series = numbers.get("series", [])
    level = {"before": numbers.get("before"), "after": numbers.get("after")}
    return {"labels": [point["date"] for point in series], "values": [point["value"] for point in series],
            "windows": [level.get(point.get("window")) if point.get("window") else None for point in series],
            "launch": analysis.after_from.isoformat(), "label": numbers.get("series_label", ""),
            "window_label": _("window value (the headline)")}


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
    launch_day = timezone.localdate(ticket.launched_at)
    windows = impact_windows(launch_day=launch_day, window_days=window_days)
    today = timezone.localdate()
    if windows["after_to"] >= today:
        longest = (today - windows["after_from"]).days
        if longest <= 0:
            message = _("Launched %(launch)s: no full day after the launch has ended yet. The impact can be "
                        "measured from %(first)s (1-day windows), a %(n)d-day window from %(day)s.") % {
                "launch": launch_day.isoformat(), "first": impact_available_from(launch_day=launch_day).isoformat(),
                "n": window_days,
                "day": impact_available_from(launch_day=launch_day, window_days=window_days).isoformat()}
        else:
            message = _("The after window must end before today: choose at most %(n)d days, or measure "
                        "%(w)d days from %(day)s.") % {
                "n": longest, "w": window_days,
                "day": impact_available_from(launch_day=launch_day, window_days=window_days).isoformat()}
        raise ApplicationError(_("The after window is not over yet."), errors={"window_days": [message]})
    numbers = impact_measure(metric=metric, **windows)
    return ImpactAnalysis.objects.create(ticket=ticket, metric=metric, window_days=window_days, numbers=numbers,
                                         p_value=numbers["p_value"], conclusion=conclusion.strip()[:5000],
                                         analyst=actor, **windows)
