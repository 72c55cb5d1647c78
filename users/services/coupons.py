"""Coupon campaigns: unique codes in bulk, issuance to a segment with a holdout, redemptions read from
``order_paid.coupon_code``, suspicious ones flagged.

Issuing locks the campaign row (``select_for_update``), so concurrent issuers queue: the per-customer limit is
counted by customer (and backed by the unique (campaign, customer, seq) constraint) and the committed worth of the
codes never passes the budget (backed by a CHECK constraint). Issuing stops at the budget with a clear message.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.selectors import coupon_code_orders, order_revenue_by_group
from ops_platform.core.exceptions import ApplicationError
from users.models import Coupon, CouponCampaign, CouponHoldout, CouponRedemption, Customer, SegmentMember

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


def _assign(campaign: CouponCampaign, person_ids: list[int], now: datetime) -> tuple[int, int, bool]:
    """Give one code to each of ``person_ids`` under the limit and the budget (the campaign row is locked)."""
    held = dict(Coupon.objects.filter(campaign=campaign, customer_id__in=person_ids).values("customer_id")
                .order_by().annotate(n=Count("pk")).values_list("customer_id", "n"))
    eligible = [pid for pid in person_ids if held.get(pid, 0) < campaign.per_customer_limit]
    at_limit = len(person_ids) - len(eligible)
    value = campaign.code_value
    affordable = int((campaign.budget - campaign.committed) // value) if value else len(eligible)
    stopped = affordable < len(eligible)
    eligible = eligible[:max(affordable, 0)]
    codes = _free_codes(campaign, len(eligible))
    for coupon, person_id in zip(codes, eligible, strict=True):
        coupon.customer_id, coupon.seq, coupon.issued_at = person_id, held.get(person_id, 0) + 1, now
    Coupon.objects.bulk_update(codes, ["customer_id", "seq", "issued_at"], batch_size=5000)
    CouponCampaign.objects.filter(pk=campaign.pk).update(committed=F("committed") + value * len(codes))
    return len(codes), at_limit, stopped


def coupon_issue_to_segment(*, campaign_id: int, now: datetime | None = None) -> IssueResult:
    """Issue a code to every member of the campaign's segment except a holdout share (drawn once per customer, kept
    for the results), within the per-customer limit and the budget."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = CouponCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
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
        CouponHoldout.objects.bulk_create([CouponHoldout(campaign=campaign, customer_id=pid) for pid in new_holdout],
                                          batch_size=5000)
        excluded = held_out | set(new_holdout)
        issued, at_limit, stopped = _assign(campaign, [pid for pid in members if pid not in excluded], now)
    message = (_("Budget reached: issuing stopped after %(n)s codes.") % {"n": issued} if stopped
               else _("%(n)s codes issued.") % {"n": issued})
    return IssueResult(issued=issued, holdout=len(new_holdout), skipped_at_limit=at_limit, stopped_by_budget=stopped,
                       message=message)


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


def coupon_redemptions_refresh(*, campaign_id: int) -> int:
    """Rebuild a campaign's redemptions from the paid orders carrying its codes (first use of a code counts).

    Not accepted: outside the validity window, under the minimum spend, or used by a customer the code was not
    issued to (the limit is enforced by customer). Suspicious: used by someone else; redeemed within an hour of
    signing up by a customer who never ordered again; one referrer behind 3+ redeeming accounts."""
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
    for coupon, order in rows:
        customer = customers.get(order["person_id"])
        amount = Decimal(str(order["amount"])).quantize(Decimal("0.01"))
        reasons = []
        accepted = campaign.valid_from <= order["timestamp"] <= campaign.valid_to and amount >= campaign.min_spend
        if order["person_id"] != coupon.customer_id:
            accepted = False
            reasons.append("used_by_another_customer")
        if customer and customer.signed_up_at and customer.orders <= 1 and (
                order["timestamp"] - customer.signed_up_at) <= QUICK_SIGNUP_REDEMPTION:
            reasons.append("redeemed_right_after_signup_never_again")
        if customer and customer.referrer and referred[customer.referrer] >= REFERRER_RING_SIZE:
            reasons.append("many_accounts_from_one_referrer")
        redemptions.append(CouponRedemption(
            coupon=coupon, customer_id=order["person_id"], order_id=order["order_id"], redeemed_at=order["timestamp"],
            order_amount=amount, discount=_discount(campaign, amount) if accepted else Decimal("0"),
            accepted=accepted, suspicious=bool(reasons), reasons=reasons))
    with transaction.atomic():
        CouponRedemption.objects.filter(coupon__campaign=campaign).delete()
        CouponRedemption.objects.bulk_create(redemptions, batch_size=5000)
    return len(redemptions)


def coupon_campaign_results(*, campaign_id: int) -> dict:
    """Issued, redeemed, rate, cost, revenue of redeemers, incremental revenue against the holdout, ROI and
    redemptions by days since issue. Revenue counts paid orders within the validity window."""
    campaign = CouponCampaign.objects.get(pk=campaign_id)
    issued = Coupon.objects.filter(campaign=campaign, customer__isnull=False)
    issued_people = issued.order_by().values("customer_id").distinct()
    holdout_people = CouponHoldout.objects.filter(campaign=campaign).values("customer_id")
    accepted = CouponRedemption.objects.filter(coupon__campaign=campaign, accepted=True)
    redeemer_people = accepted.order_by().values("customer_id").distinct()
    counts = {"issued": issued.count(), "issued_customers": issued_people.count(),
              "holdout_customers": holdout_people.count(), "redeemed": accepted.count(),
              "suspicious": CouponRedemption.objects.filter(coupon__campaign=campaign, suspicious=True).count()}
    cost = float(sum(accepted.values_list("discount", flat=True), Decimal("0")))
    revenue = order_revenue_by_group(groups={"issued": issued_people, "holdout": holdout_people,
                                             "redeemers": redeemer_people},
                                     start=campaign.valid_from, end=campaign.valid_to)
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
        "redemptions_by_days_since_issue": [{"days": day, "redeemed": by_day[day]} for day in sorted(by_day)],
    }
