"""A merchant's diagnosis: named problems, each with its evidence and advice, from its weekly metrics and the
relationship log. Pure: the caller passes what the selectors read.

Only complete weeks are judged: the latest complete week against the complete week before it. The week in progress
(a row with ``days`` < 7) is never compared with a whole week; ``week_so_far`` describes it, pro-rated and labelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

NO_FOLLOW_UP_DAYS = 30
ORDERS_DOWN = -0.2
RATING_FALL = 0.3
LOW_RATING_SHARE = 0.2
LOW_REPEAT_RATE = 0.1
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Problem:
    code: str
    title: str
    evidence: str
    advice: str


def complete_weeks(series: list) -> list:
    """The rows of ``series`` that count a whole week (oldest first)."""
    return [row for row in series if getattr(row, "days", 7) >= 7]


def week_so_far(series: list) -> dict | None:
    """The week in progress, if the newest row is one: its days counted, orders so far, the pace for a whole week
    (orders × 7 / days) and the orders of the same days of the week before (from week over week)."""
    latest = series[-1] if series else None
    if latest is None or getattr(latest, "days", 7) >= 7:
        return None
    before = (round(latest.orders / (1 + latest.orders_wow)) if latest.orders_wow is not None
              and latest.orders_wow > -1 else None)
    return {"week": latest.period_start, "days": latest.days, "orders": latest.orders,
            "pace": round(latest.orders * 7 / max(latest.days, 1)), "same_days_before": before,
            "orders_wow": latest.orders_wow, "health_score": latest.health_score}


def merchant_diagnose(*, series: list, last_contact_at: datetime | None, now: datetime,
                      campaigns_taken_part: int | None = None, training_complete: bool | None = None) -> list[Problem]:
    """``series``: the merchant's weekly metrics, oldest first (objects with orders, avg_rating, days, …). The week
    in progress among them is left out: the figures are those of the latest complete week and the one before."""
    problems: list[Problem] = []
    weeks = complete_weeks(series)
    latest = weeks[-1] if weeks else None
    previous = weeks[-2] if len(weeks) > 1 and weeks[-2].period_start == latest.period_start - WEEK else None
    if latest is not None and latest.orders_wow is not None and latest.orders_wow <= ORDERS_DOWN:
        problems.append(Problem(
            "orders_down", _("Orders down week over week"),
            ngettext("%(now)d order in the week of %(week)s against %(before)d the week before (%(change)s).",
                     "%(now)d orders in the week of %(week)s against %(before)d the week before (%(change)s).",
                     latest.orders) % {
                "now": latest.orders, "week": latest.period_start.isoformat(),
                "before": previous.orders if previous else round(latest.orders / (1 + latest.orders_wow)),
                "change": f"{round(100 * latest.orders_wow):+d}%"},
            _("Call the merchant: check opening hours, stock and delivery area; propose a campaign.")))
    if (latest is not None and previous is not None and latest.avg_rating is not None
            and previous.avg_rating is not None and previous.avg_rating - latest.avg_rating >= RATING_FALL):
        problems.append(Problem(
            "rating_fell", _("Rating fell"),
            _("Average rating %(now).1f in the week of %(week)s against %(before).1f the week before.") % {
                "now": latest.avg_rating, "week": latest.period_start.isoformat(), "before": previous.avg_rating},
            _("Read the low reviews with the merchant and agree on one fix (food quality, packaging, delay).")))
    if latest is not None and latest.review_count >= 5 and latest.low_rating_share >= LOW_RATING_SHARE:
        problems.append(Problem(
            "low_ratings", _("Many low ratings"),
            _("%(share)s of %(reviews)d reviews rated 1 or 2 in the week of %(week)s.") % {
                "share": f"{round(100 * latest.low_rating_share)}%", "reviews": latest.review_count,
                "week": latest.period_start.isoformat()},
            _("Review the complaints together; enrol the merchant in the service-quality course.")))
    if latest is not None and latest.customers >= 10 and latest.repeat_rate < LOW_REPEAT_RATE:
        problems.append(Problem(
            "few_repeat_customers", _("Few repeat customers"),
            _("%(rate)s of %(customers)d customers ordered twice or more in the week of %(week)s.") % {
                "rate": f"{round(100 * latest.repeat_rate)}%", "customers": latest.customers,
                "week": latest.period_start.isoformat()},
            _("Suggest a reorder coupon or a loyalty offer.")))
    if latest is not None and latest.orders == 0:
        problems.append(Problem(
            "no_orders", _("No orders in the last complete week"), _("0 orders in the week of %(week)s.") % {
                "week": latest.period_start.isoformat()},
            _("Visit the merchant: is the shop open and visible on the platform?")))
    if last_contact_at is None or (now - last_contact_at).days >= NO_FOLLOW_UP_DAYS:
        problems.append(Problem(
            "no_follow_up", _("No contact for a long time"),
            _("Last contact: %(when)s.") % {"when": last_contact_at.date().isoformat() if last_contact_at
                                            else _("never")},
            _("Plan a visit or a call and log it with the next follow-up date.")))
    if campaigns_taken_part == 0:
        problems.append(Problem(
            "no_campaign", _("No campaign taken part in"), _("The merchant has not taken part in any campaign."),
            _("Invite the merchant to the next campaign that fits its tier.")))
    if training_complete is False:
        problems.append(Problem(
            "training_not_finished", _("Training not finished"),
            _("Required courses for its tier are not all done."),
            _("Enrol the merchant in the next session of the missing courses.")))
    return problems
