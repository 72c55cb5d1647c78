"""What the merchant page and its API show, assembled from the selectors (reads only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from analytics import selectors as analytics
from merchants import selectors
from merchants.models import CampaignInvite, Certification, Course, Enrolment, Merchant, MerchantContact
from merchants.services.diagnosis import complete_weeks, merchant_diagnose, week_so_far
from merchants.services.pipeline import STAGE_MOVES, merchant_can_manage
from merchants.services.playbooks import PLAYBOOKS, next_best_actions
from merchants.services.training import growth_level, required_courses_missing
from ops_platform.core.periods import local_day_start

TREND_DAYS = 28
ANALYTICS_CACHE_SECONDS = 600
FUNNEL_STEPS = ["view_merchant", "add_to_cart", "order_paid"]


def _local(day) -> datetime:
    return local_day_start(day)


def merchant_timeline(*, merchant: Merchant, limit: int = 50) -> list[dict]:
    """Stage moves, relationship log and tier changes, newest first (3 queries)."""
    entries = [{"kind": "move", "at": m.moved_at, "actor": m.moved_by, "item": m}
               for m in selectors.merchant_stage_moves(merchant_id=merchant.pk)[:limit]]
    entries += [{"kind": "contact", "at": c.happened_at, "actor": c.logged_by, "item": c}
                for c in selectors.merchant_contacts(merchant_id=merchant.pk)[:limit]]
    entries += [{"kind": "tier", "at": t.changed_at, "actor": t.changed_by, "item": t}
                for t in selectors.tier_changes(merchant_id=merchant.pk)[:limit]]
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)[:limit]


def merchant_training(*, merchant: Merchant) -> dict:
    enrolments = list(Enrolment.objects.filter(merchant=merchant).select_related("session__course")
                      .order_by("-session__starts_at"))
    attended = {e.session.course_id for e in enrolments if e.status == Enrolment.Status.ATTENDED}
    certified = Certification.objects.filter(merchant=merchant, tier=merchant.tier).exists() if merchant.tier \
        else False
    missing = required_courses_missing(merchant=merchant)
    return {"enrolments": enrolments, "certified": certified, "missing": missing,
            "growth_level": growth_level(attended_courses=len(attended), total_courses=Course.objects.count(),
                                         certified=certified)}


def merchant_analytics(*, merchant: Merchant) -> dict:
    """The merchant's daily order trend (last 4 weeks of data), the funnel of its customers over those weeks — each
    step at this merchant: viewed it, put its goods in the cart, paid it — and the weekly retention of its buyers
    (first order at this merchant, then orders at this merchant)."""
    last = analytics.report_last_day()
    first = last - timedelta(days=TREND_DAYS - 1)
    daily = analytics.merchant_daily_orders(merchant=merchant.code, start=_local(first),
                                            end=_local(last + timedelta(days=1)))
    days = [first + timedelta(days=i) for i in range(TREND_DAYS)]
    funnel = analytics.funnel_compute(steps=FUNNEL_STEPS, window_days=7, date_from=first, date_to=last,
                                      property_filter=("merchant_id", merchant.code), filter_every_step=True)
    retention = analytics.retention_compute(cohort_event="order_paid", return_event="order_paid", period="week",
                                            date_from=last - timedelta(days=7 * 6 - 1), date_to=last, periods=6,
                                            property_filter=("merchant_id", merchant.code))
    return {"trend": {"days": [d.isoformat() for d in days],
                      "orders": [daily.get(d, {}).get("orders", 0) for d in days],
                      "gmv": [round(daily.get(d, {}).get("gmv", 0.0), 2) for d in days]},
            "funnel": funnel["steps"], "funnel_window": funnel["window"],
            "retention": retention["cohorts"], "date_from": first, "date_to": last}


def merchant_analytics_recent(*, merchant: Merchant) -> dict:
    """``merchant_analytics`` as computed at most ``ANALYTICS_CACHE_SECONDS`` ago (per merchant and report day), with
    ``computed_at``, which the page shows beside the figures. The funnel and retention read the merchant's events
    live (0.2–1.2 s on the demo data, by load); reopening a merchant within minutes reuses them and says how old they
    are. The period's days are complete, so what can change meanwhile is the funnel's window and the week so far."""
    key = f"merchant-analytics:v2:{merchant.code}:{analytics.report_last_day().isoformat()}"
    found = cache.get(key)
    if found is None:
        found = {**merchant_analytics(merchant=merchant), "computed_at": timezone.now()}
        cache.set(key, found, ANALYTICS_CACHE_SECONDS)
    return found


def merchant_overview(*, merchant: Merchant, user, with_analytics: bool = True) -> dict:
    series = selectors.merchant_metrics_series(merchant_id=merchant.pk)
    last_contact = (MerchantContact.objects.filter(merchant=merchant).order_by("-happened_at")
                    .values_list("happened_at", flat=True).first())
    invites = list(CampaignInvite.objects.filter(merchant=merchant).select_related("campaign")
                   .order_by("-campaign__starts_on"))
    training = merchant_training(merchant=merchant)
    problems = merchant_diagnose(
        series=series, last_contact_at=last_contact, now=timezone.now(),
        campaigns_taken_part=(sum(i.status == CampaignInvite.Status.TOOK_PART for i in invites)
                              if merchant.stage == Merchant.Stage.LIVE else None),
        training_complete=None if not merchant.tier else not training["missing"])
    return {
        "merchant": merchant,
        "can_manage": merchant_can_manage(user=user, merchant=merchant),
        "allowed_moves": list(STAGE_MOVES.get(merchant.stage, ())),
        "series": series,
        "complete_series": complete_weeks(series),  # what health, diagnosis and tiers are judged on
        "week_so_far": week_so_far(series),  # the week in progress, pro-rated and labelled; never judged
        "problems": problems,
        "next_actions": next_best_actions(tier=merchant.tier, problems=problems),
        "playbook": [str(a) for a in PLAYBOOKS.get(merchant.tier, [])],
        "training": training,
        "invites": invites,
        "timeline": merchant_timeline(merchant=merchant),
        "analytics": merchant_analytics_recent(merchant=merchant) if with_analytics else None,
    }
