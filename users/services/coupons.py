"""Coupon campaigns: unique codes in bulk, issuance to a segment with a holdout, redemptions read from
``order_paid.coupon_code``, suspicious ones flagged.

Issuing locks the campaign row (``select_for_update``), so concurrent issuers queue: the per-customer limit is
counted by customer (and backed by the unique (campaign, customer, seq) constraint) and the committed worth of the
codes never passes the budget (backed by a CHECK constraint).

Issuing to a segment is planned first (``coupon_issue_preview``, the same plan the issue then carries out): the
holdout drawn once per customer, the treatment group (everyone else not yet holding a code, under the limit), and
how many codes the budget allows. When the budget cannot cover the treatment group, issuing asks first: it is
refused (409, ``budget_short``) unless the caller says ``allow_partial``; then a random sample of the treatment
group as large as the budget allows gets the codes (so it stays comparable with the holdout), and the rest are in
neither group — they get no code and are not counted as a control group (raise the budget and issue again).

Results compare the customers who got a code with the holdout in the validity window: the share who bought
(two-proportion z-test) and spend per customer (Welch's t-test), each with a 95 % interval of the lift and a
plain verdict (ops_platform.core.stats).
"""

from __future__ import annotations

import random
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.selectors import coupon_code_orders, order_revenue_by_group, order_stats_by_group
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.stats import mean_and_variance, two_proportion_z_test, welch_t_test
from users.models import (
    FRAUD_OBSERVATION_WINDOW,
    Coupon,
    CouponCampaign,
    CouponFraudReason,
    CouponHoldout,
    CouponRedemption,
    Customer,
    SegmentMember,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
MAX_CODES_PER_CALL = 200_000
QUICK_SIGNUP_REDEMPTION = timedelta(hours=1)
REFERRER_RING_SIZE = 3


@dataclass(frozen=True)
class IssueResult:
    issued: int
    holdout: int
    skipped_at_limit: int
    stopped_by_budget: bool
    message: str
    not_covered: int = 0


def coupon_campaign_create(*, actor=None, **fields) -> CouponCampaign:
    campaign = CouponCampaign(created_by=actor, **fields)
    campaign.full_clean()
    campaign.save()
    return campaign


def _new_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _unused in range(10))


def coupon_codes_generate(*, campaign_id: int, count: int) -> int:
    """Add ``count`` unique, unissued codes to a campaign (bulk; collisions are retried). Returns how many."""
    if not (1 <= count <= MAX_CODES_PER_CALL):
        raise ApplicationError(_("Generate between 1 and 200000 codes at a time."),
                               errors={"count": [_("Out of range.")]})
    campaign = CouponCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
    prefix = f"C{campaign.pk}-"
    created = 0
    while created < count:
        codes = {_new_code(prefix) for _unused in range(count - created)}
        before = Coupon.objects.filter(campaign=campaign).count()
        Coupon.objects.bulk_create([Coupon(campaign=campaign, code=code) for code in codes], ignore_conflicts=True,
                                   batch_size=5000)
        created += Coupon.objects.filter(campaign=campaign).count() - before
    return created


def _free_codes(campaign: CouponCampaign, needed: int) -> list[Coupon]:
    free = list(Coupon.objects.filter(campaign=campaign, customer__isnull=True).order_by("pk")[:needed])
    if len(free) < needed:
        coupon_codes_generate(campaign_id=campaign.pk, count=needed - len(free))
        free = list(Coupon.objects.filter(campaign=campaign, customer__isnull=True).order_by("pk")[:needed])
    return free


def _held(campaign: CouponCampaign, person_ids: list[int]) -> dict[int, int]:
    return dict(Coupon.objects.filter(campaign=campaign, customer_id__in=person_ids).values("customer_id")
                .order_by().annotate(n=Count("pk")).values_list("customer_id", "n"))


def _affordable(campaign: CouponCampaign, wanted: int) -> int:
    value = campaign.code_value
    return max(int((campaign.budget - campaign.committed) // value), 0) if value else wanted


def _assign(campaign: CouponCampaign, person_ids: list[int], now: datetime) -> tuple[int, int, bool]:
    """Give one code to each of ``person_ids`` under the limit and the budget (the campaign row is locked). When
    the budget falls short, a random sample (seeded by the campaign and its committed amount, so reproducible)
    gets the codes, never the first ones by id."""
    held = _held(campaign, person_ids)
    eligible = [pid for pid in person_ids if held.get(pid, 0) < campaign.per_customer_limit]
    at_limit = len(person_ids) - len(eligible)
    value = campaign.code_value
    affordable = _affordable(campaign, len(eligible))
    stopped = affordable < len(eligible)
    if stopped:
        rng = random.Random(f"budget-{campaign.pk}-{campaign.committed}")
        eligible = sorted(rng.sample(eligible, affordable))
    codes = _free_codes(campaign, len(eligible))
    for coupon, person_id in zip(codes, eligible, strict=True):
        coupon.customer_id, coupon.seq, coupon.issued_at = person_id, held.get(person_id, 0) + 1, now
    Coupon.objects.bulk_update(codes, ["customer_id", "seq", "issued_at"], batch_size=5000)
    CouponCampaign.objects.filter(pk=campaign.pk).update(committed=F("committed") + value * len(codes))
    return len(codes), at_limit, stopped


def _segment_plan(campaign: CouponCampaign) -> dict:
    """Who is in the holdout (kept, plus a draw for members not decided yet), who is in the treatment group (not
    held out, under the per-customer limit), and how many of them the budget covers. Reads only."""
    if campaign.segment_id is None or campaign.segment.built_at is None:
        raise ApplicationError(_("The campaign needs a built target segment."),
                               errors={"segment": [_("Choose a segment and build it first.")]})
    members = list(SegmentMember.objects.filter(segment_id=campaign.segment_id).order_by("customer_id")
                   .values_list("customer_id", flat=True))
    held_out = set(CouponHoldout.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    issued_before = set(Coupon.objects.filter(campaign=campaign, customer__isnull=False)
                        .values_list("customer_id", flat=True))
    undecided = [pid for pid in members if pid not in held_out and pid not in issued_before]
    rng = random.Random(f"holdout-{campaign.pk}")
    new_holdout = [pid for pid in undecided if rng.random() < float(campaign.holdout_share)]
    excluded = held_out | set(new_holdout)
    candidates = [pid for pid in members if pid not in excluded]
    held = _held(campaign, candidates)
    treatment = [pid for pid in candidates if held.get(pid, 0) < campaign.per_customer_limit]
    affordable = _affordable(campaign, len(treatment))
    return {"members": members, "new_holdout": new_holdout, "candidates": candidates,
            "holdout": len(held_out) + len(new_holdout), "treatment": len(treatment),
            "at_limit": len(candidates) - len(treatment), "affordable": affordable,
            "covered": min(affordable, len(treatment)), "not_covered": max(len(treatment) - affordable, 0)}


def coupon_issue_preview(*, campaign_id: int) -> dict:
    """What issuing to the segment would do now, without doing it: ``{"members", "holdout", "treatment",
    "at_limit", "affordable" (codes the remaining budget pays for), "covered", "not_covered", "code_value",
    "budget_left", "needs_confirmation"}``."""
    campaign = CouponCampaign.objects.select_related("segment").filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
    plan = _segment_plan(campaign)
    return {"members": len(plan["members"]), "holdout": plan["holdout"], "treatment": plan["treatment"],
            "at_limit": plan["at_limit"], "affordable": plan["affordable"], "covered": plan["covered"],
            "not_covered": plan["not_covered"], "code_value": float(campaign.code_value),
            "budget_left": float(campaign.budget - campaign.committed),
            "needs_confirmation": plan["not_covered"] > 0}


def _short_message(plan: dict) -> str:
    return _("The budget pays for %(covered)s codes but the treatment group has %(treatment)s customers: "
             "%(missing)s would get no code and be in neither group. Raise the budget, or confirm issuing to a "
             "random %(covered)s of them.") % {"covered": plan["covered"], "treatment": plan["treatment"],
                                               "missing": plan["not_covered"]}


def coupon_issue_to_segment(*, campaign_id: int, now: datetime | None = None,
                            allow_partial: bool = False) -> IssueResult:
    """Issue a code to every member of the campaign's segment except a holdout share (drawn once per customer, kept
    for the results), within the per-customer limit and the budget. When the budget cannot cover the treatment
    group, refused (409 ``budget_short``, nothing written) unless ``allow_partial``."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = CouponCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
        plan = _segment_plan(campaign)
        if plan["not_covered"] and not allow_partial:
            raise ApplicationError(_short_message(plan), status_code=409, code="budget_short",
                                   errors={"allow_partial": [_("Confirm to issue to part of the treatment group.")]})
        CouponHoldout.objects.bulk_create([CouponHoldout(campaign=campaign, customer_id=pid)
                                           for pid in plan["new_holdout"]], batch_size=5000)
        issued, at_limit, stopped = _assign(campaign, plan["candidates"], now)
    if stopped:
        message = _("Budget reached: %(n)s codes issued to a random sample of the treatment group; %(missing)s "
                    "customers got no code and are in neither group.") % {"n": issued,
                                                                           "missing": plan["not_covered"]}
    else:
        message = _("%(n)s codes issued.") % {"n": issued}
    return IssueResult(issued=issued, holdout=len(plan["new_holdout"]), skipped_at_limit=at_limit,
                       stopped_by_budget=stopped, message=message, not_covered=plan["not_covered"] if stopped else 0)


def coupon_issue_to_customer(*, campaign_id: int, distinct_id: str, now: datetime | None = None) -> Coupon:
    """Issue one code to one customer; refused (400) at the per-customer limit or when the budget is spent."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = CouponCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
        customer = Customer.objects.filter(distinct_id=distinct_id).first()
        if customer is None:
            raise ApplicationError(_("No such customer."), errors={"customer": [_("Unknown customer.")]})
        issued, at_limit, stopped = _assign(campaign, [customer.person_id], now)
        if at_limit:
            raise ApplicationError(_("This customer already holds the most codes this campaign allows."),
                                   errors={"customer": [_("Per-customer limit reached.")]}, code="limit")
        if stopped:
            raise ApplicationError(_("The campaign's budget is spent: no more codes can be issued."),
                                   errors={"budget": [_("Budget reached.")]}, code="budget")
        return Coupon.objects.get(campaign=campaign, customer=customer, seq=Coupon.objects.filter(
            campaign=campaign, customer=customer).count())


def _discount(campaign: CouponCampaign, amount: Decimal) -> Decimal:
    if campaign.discount_type == CouponCampaign.DiscountType.AMOUNT:
        return min(campaign.face_value, amount)
    return min((amount * campaign.percent / 100).quantize(Decimal("0.01")), campaign.cap)


def coupon_redemptions_refresh(*, campaign_id: int, now: datetime | None = None) -> int:
    """Rebuild a campaign's redemptions from the paid orders carrying its codes (first use of a code counts), judged
    as of ``now``.

    Not accepted: outside the validity window, under the minimum spend, or used by a customer the code was not
    issued to (the limit is enforced by customer). Suspicious: used by someone else; redeemed within an hour of
    signing up by a customer who never ordered again — judged only on redemptions at least
    ``FRAUD_OBSERVATION_WINDOW`` (14 days) old, as the referral rule judges sign-ups: a customer who redeemed
    yesterday has not had the time to order again. A younger one is not flagged for it; ``judge_from`` says when it
    can be (the next read from then on judges it). One referrer behind 3+ redeeming accounts."""
    now = now or timezone.now()
    judged_before = now - FRAUD_OBSERVATION_WINDOW
    campaign = CouponCampaign.objects.get(pk=campaign_id)
    coupons = {c.code: c for c in Coupon.objects.filter(campaign=campaign, customer__isnull=False)}
    seen, rows = set(), []
    for order in coupon_code_orders(start=campaign.valid_from - timedelta(days=1)):
        coupon = coupons.get(order["code"])
        if coupon is None or coupon.code in seen:
            continue
        seen.add(coupon.code)
        rows.append((coupon, order))
    customers = Customer.objects.in_bulk({order["person_id"] for _unused, order in rows})
    referred = Counter(customers[o["person_id"]].referrer for _unused, o in rows
                       if o["person_id"] in customers and customers[o["person_id"]].referrer)
    redemptions = []
    for coupon, order in rows:  # the campaign's redemptions, already read: no query per row
        customer = customers.get(order["person_id"])
        amount = Decimal(str(order["amount"])).quantize(Decimal("0.01"))
        reasons, judge_from = [], None
        accepted = campaign.valid_from <= order["timestamp"] <= campaign.valid_to and amount >= campaign.min_spend
        if order["person_id"] != coupon.customer_id:
            accepted = False
            reasons.append(CouponFraudReason.USED_BY_ANOTHER_CUSTOMER.value)
        if customer and customer.signed_up_at and customer.orders <= 1 and (
                order["timestamp"] - customer.signed_up_at) <= QUICK_SIGNUP_REDEMPTION:
            if order["timestamp"] <= judged_before:
                reasons.append(CouponFraudReason.REDEEMED_RIGHT_AFTER_SIGNUP_NEVER_AGAIN.value)
            else:
                judge_from = order["timestamp"] + FRAUD_OBSERVATION_WINDOW
        if customer and customer.referrer and referred[customer.referrer] >= REFERRER_RING_SIZE:
            reasons.append(CouponFraudReason.MANY_ACCOUNTS_FROM_ONE_REFERRER.value)
        redemptions.append(CouponRedemption(
            coupon=coupon, customer_id=order["person_id"], order_id=order["order_id"], redeemed_at=order["timestamp"],
            order_amount=amount, discount=_discount(campaign, amount) if accepted else Decimal("0"),
            accepted=accepted, suspicious=bool(reasons), reasons=reasons, judge_from=judge_from))
    with transaction.atomic():
        CouponRedemption.objects.filter(coupon__campaign=campaign).delete()
        CouponRedemption.objects.bulk_create(redemptions, batch_size=5000)
    return len(redemptions)


def coupon_campaign_results(*, campaign_id: int) -> dict:
    """Issued, redeemed, rate, cost, revenue of redeemers, incremental revenue against the holdout, ROI and
    redemptions by days since issue. Revenue counts paid orders within the validity window. ``suspicious`` counts the
    flagged redemptions as of their last read; ``too_young_to_judge`` those a rule could not judge yet then (redeemed
    right after signing up, less than 14 days before), and ``judge_from`` the first day one of them can be."""
    campaign = CouponCampaign.objects.get(pk=campaign_id)
    issued = Coupon.objects.filter(campaign=campaign, customer__isnull=False)
    issued_people = issued.order_by().values("customer_id").distinct()
    holdout_people = CouponHoldout.objects.filter(campaign=campaign).values("customer_id")
    accepted = CouponRedemption.objects.filter(coupon__campaign=campaign, accepted=True)
    redeemer_people = accepted.order_by().values("customer_id").distinct()
    flags = CouponRedemption.objects.filter(coupon__campaign=campaign).aggregate(
        suspicious=Count("pk", filter=Q(suspicious=True)), too_young=Count("pk", filter=Q(judge_from__isnull=False)),
        judge_from=Min("judge_from"))
    counts = {"issued": issued.count(), "issued_customers": issued_people.count(),
              "holdout_customers": holdout_people.count(), "redeemed": accepted.count(),
              "suspicious": flags["suspicious"]}
    cost = float(sum(accepted.values_list("discount", flat=True), Decimal("0")))
    groups = order_stats_by_group(groups={"issued": issued_people, "holdout": holdout_people},
                                  start=campaign.valid_from, end=campaign.valid_to)
    revenue = {"issued": groups["issued"]["revenue"], "holdout": groups["holdout"]["revenue"],
               **order_revenue_by_group(groups={"redeemers": redeemer_people}, start=campaign.valid_from,
                                        end=campaign.valid_to)}
    per_issued = revenue["issued"] / counts["issued_customers"] if counts["issued_customers"] else 0.0
    per_holdout = revenue["holdout"] / counts["holdout_customers"] if counts["holdout_customers"] else None
    incremental = (per_issued - per_holdout) * counts["issued_customers"] if per_holdout is not None else None
    by_day: dict[int, int] = defaultdict(int)
    for redeemed_at, issued_at in accepted.values_list("redeemed_at", "coupon__issued_at"):
        by_day[max((redeemed_at - issued_at).days, 0)] += 1
    platform_cost = cost * (1 - float(campaign.merchant_share)) if campaign.funded_by == "merchant" else cost
    return {
        **counts,
        "redemption_rate": round(counts["redeemed"] / counts["issued"], 4) if counts["issued"] else None,
        "cost": round(cost, 2), "platform_cost": round(platform_cost, 2),
        "committed": float(campaign.committed), "budget": float(campaign.budget),
        "revenue_of_redeemers": round(revenue["redeemers"], 2),
        "revenue_per_issued_customer": round(per_issued, 2),
        "revenue_per_holdout_customer": round(per_holdout, 2) if per_holdout is not None else None,
        "incremental_revenue": round(incremental, 2) if incremental is not None else None,
        "roi": round((incremental - cost) / cost, 4) if incremental is not None and cost else None,
        # redeemed right after signing up, no other order yet, but too recently (when last read) to be judged
        "too_young_to_judge": flags["too_young"],
        "judge_from": timezone.localtime(flags["judge_from"]).date().isoformat() if flags["judge_from"] else None,
        "redemptions_by_days_since_issue": [{"days": day, "redeemed": by_day[day]} for day in sorted(by_day)],
        "lift": coupon_holdout_lift(treatment=groups["issued"], treatment_n=counts["issued_customers"],
                                    holdout=groups["holdout"], holdout_n=counts["holdout_customers"]),
    }


def coupon_holdout_lift(*, treatment: dict, treatment_n: int, holdout: dict, holdout_n: int) -> dict:
    """The lift of the customers who got a code over the holdout, tested: ``{"conversion": …, "spend": …}``, each
    the ops_platform.core.stats answer (``before`` = holdout, ``after`` = treatment, ``ci_low``/``ci_high`` the 95 %
    interval of the difference, ``verdict``). Conversion: the share who paid an order in the validity window;
    spend: revenue per customer (0 for those who did not buy)."""
    conversion = two_proportion_z_test(x1=holdout["buyers"], n1=holdout_n, x2=treatment["buyers"], n2=treatment_n)
    mean_h, var_h = mean_and_variance(n=holdout_n, total=holdout["revenue"], squares=holdout["squares"])
    mean_t, var_t = mean_and_variance(n=treatment_n, total=treatment["revenue"], squares=treatment["squares"])
    spend = welch_t_test(mean1=mean_h, var1=var_h, n1=holdout_n, mean2=mean_t, var2=var_t, n2=treatment_n)
    return {"conversion": {**conversion, "holdout_buyers": holdout["buyers"], "holdout_customers": holdout_n,
                           "treatment_buyers": treatment["buyers"], "treatment_customers": treatment_n},
            "spend": spend}
