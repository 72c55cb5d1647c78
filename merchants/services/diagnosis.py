"""A merchant's diagnosis: named problems, each with its evidence and advice, from its weekly metrics and the
relationship log. Pure: the caller passes what the selectors read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

NO_FOLLOW_UP_DAYS = 30
ORDERS_DOWN = -0.2
RATING_FALL = 0.3
LOW_RATING_SHARE = 0.2
LOW_REPEAT_RATE = 0.1


@dataclass(frozen=True)
class Problem:
    code: str
    title: str
    evidence: str
    advice: str


def merchant_diagnose(*, series: list, last_contact_at: datetime | None, now: datetime,
                      campaigns_taken_part: int | None = None, training_complete: bool | None = None) -> list[Problem]:
    """``series``: the merchant's weekly metrics, oldest first (objects with orders, avg_rating, …)."""
    problems: list[Problem] = []
    latest = series[-1] if series else None
    previous = series[-2] if len(series) > 1 else None
    if latest is not None and latest.orders_wow is not None and latest.orders_wow <= ORDERS_DOWN:
        problems.append(Problem(
            "orders_down", _("Orders down week over week"),
            _("%(now)d orders this week against %(before)d the week before (%(change)s).") % {
                "now": latest.orders, "before": previous.orders if previous else round(
                    latest.orders / (1 + latest.orders_wow)), "change": f"{round(100 * latest.orders_wow):+d}%"},
            _("Call the merchant: check opening hours, stock and delivery area; propose a campaign.")))
    if (latest is not None and previous is not None and latest.avg_rating is not None
            and previous.avg_rating is not None and previous.avg_rating - latest.avg_rating >= RATING_FALL):
        problems.append(Problem(
            "rating_fell", _("Rating fell"),
            _("Average rating %(now).1f this week against %(before).1f the week before.") % {
                "now": latest.avg_rating, "before": previous.avg_rating},
            _("Read the low reviews with the merchant and agree on one fix (food quality, packaging, delay).")))
    if latest is not None and latest.review_count >= 5 and latest.low_rating_share >= LOW_RATING_SHARE:
        problems.append(Problem(
            "low_ratings", _("Many low ratings"),
            _("%(share)s of %(reviews)d reviews rated 1 or 2.") % {
                "share": f"{round(100 * latest.low_rating_share)}%", "reviews": latest.review_count},
            _("Review the complaints together; enrol the merchant in the service-quality course.")))
    if latest is not None and latest.customers >= 10 and latest.repeat_rate < LOW_REPEAT_RATE:
        problems.append(Problem(
            "few_repeat_customers", _("Few repeat customers"),
            _("%(rate)s of %(customers)d customers ordered twice or more.") % {
                "rate": f"{round(100 * latest.repeat_rate)}%", "customers": latest.customers},
            _("Suggest a reorder coupon or a loyalty offer.")))
    if latest is not None and latest.orders == 0:
        problems.append(Problem(
            "no_orders", _("No orders this week"), _("0 orders in the week of %(week)s.") % {
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
