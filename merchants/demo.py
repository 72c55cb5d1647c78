"""The merchant-operations part of ``seed_demo``: pipeline history for the demo merchants, loss reasons and stale
settings, the relationship log with follow-ups due and overdue, recruitment targets, weekly metrics, health and
tiers computed from the demo events (so tier changes are real), courses with sessions and certifications, and
campaigns with invitations and answers.

Laid out relative to ``end`` from its own seeded generator (the event stream's generator is not touched), and
idempotent: a second run finds the history in place and only recomputes the weeks (which replaces them).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

from merchants.models import (
    STAGE_DATE_FIELDS,
    Campaign,
    CampaignInvite,
    Certification,
    Course,
    Enrolment,
    LossReason,
    Merchant,
    MerchantContact,
    MerchantStageMove,
    MerchantTierChange,
    RecruitmentTarget,
    StageSetting,
    Tier,
    TierRules,
    TrainingSession,
)
from merchants.services.metrics import merchant_metrics_compute, week_start
from ops_platform.accounts.models import Staff

S = Merchant.Stage
PATHS = {
    S.LEAD: [S.LEAD], S.CONTACTED: [S.LEAD, S.CONTACTED], S.NEGOTIATING: [S.LEAD, S.CONTACTED, S.NEGOTIATING],
    S.SIGNED: [S.LEAD, S.CONTACTED, S.NEGOTIATING, S.SIGNED],
    S.LIVE: [S.LEAD, S.CONTACTED, S.NEGOTIATING, S.SIGNED, S.LIVE],
    S.PAUSED: [S.LEAD, S.CONTACTED, S.NEGOTIATING, S.SIGNED, S.LIVE, S.PAUSED],
    S.TERMINATED: [S.LEAD, S.CONTACTED, S.TERMINATED],
}
REASONS = ["Went to a competitor", "Commission too high", "Shop closed", "Not enough orders", "Quality problems"]
COURSES = [
    ("C101", "Getting started on the platform", "Menu, photos, opening hours, delivery area.", ["core", "potential",
                                                                                               "ordinary"]),
    ("C201", "Service quality and reviews", "Answering reviews, packaging, delays.", ["core", "potential"]),
    ("C301", "Running campaigns", "Coupons, discounts and festival campaigns that pay off.", ["core"]),
    ("C302", "Data for merchants", "Reading orders, repeat customers and ratings.", ["core"]),
]
CONTACT_NOTES = {
    "visit": ("Visited the shop; checked the kitchen and packaging.", "menu photos to be updated"),
    "call": ("Called the owner about last week's orders.", "agreed to try a lunch discount"),
    "message": ("Sent the campaign calendar.", "read"),
    "training": ("Walked through the merchant app.", "owner now answers reviews"),
    "meetup": ("Merchant meet-up in the district.", "interested in the spring campaign"),
}


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def merchants_demo_ensure(*, end: date, days: int, seed: int = 42) -> dict:
    """Everything merchant operators work with, on top of the demo merchants and events (see the module)."""
    rng = np.random.default_rng(seed + 4)
    owner = Staff.objects.filter(username="merchant_ops").first()
    admin = Staff.objects.filter(username="admin").first()
    created = {"moves": 0, "contacts": 0}
    with transaction.atomic():
        reasons = [LossReason.objects.get_or_create(name=name)[0] for name in REASONS]
        for stage, stale_days in ((S.LEAD, 14), (S.CONTACTED, 10), (S.NEGOTIATING, 21), (S.SIGNED, 14),
                                  (S.PAUSED, 30)):
            StageSetting.objects.get_or_create(stage=stage, defaults={"stale_after_days": stale_days})
        rules = TierRules.objects.order_by("-version").first() or TierRules.objects.create(version=1, created_by=admin)
        if not MerchantStageMove.objects.exists():
            created["moves"], created["contacts"] = _history(rng, end=end, days=days, owner=owner, reasons=reasons)
            _targets(end=end, admin=admin)
            _training(rng, end=end, owner=owner)
    # Tiers start with the first complete week of data (a week the history starts in the middle of would judge every
    # merchant on a few days), and the week holding ``end`` is the week so far: it never moves a tier.
    first_week = week_start(end - timedelta(days=days - 1) + timedelta(days=6))
    week = first_week
    while week <= end:
        merchant_metrics_compute(period_start=week, rules=rules, through=end)
        MerchantTierChange.objects.filter(period_start=week, changed_by=None).update(
            changed_at=_at(min(week + timedelta(days=7), end + timedelta(days=1)), 3))
        week += timedelta(days=7)
    with transaction.atomic():
        if not Campaign.objects.exists():
            _campaigns(rng, end=end, owner=owner)
        _certify()
    return created


def _history(rng, *, end: date, days: int, owner, reasons) -> tuple[int, int]:
    merchants = list(Merchant.objects.order_by("code"))
    start = end - timedelta(days=days - 1)
    pipeline = [m for m in merchants if m.stage in (S.LEAD, S.NEGOTIATING, S.SIGNED)]
    # Merchants not yet live (they never sent events) spread over the pipeline: some lost on the way.
    early = [S.TERMINATED, S.LEAD, S.CONTACTED, S.NEGOTIATING, S.SIGNED]
    for i, merchant in enumerate(pipeline):
        merchant.stage = early[i % len(early)]
    moves, contacts = [], []
    for index, merchant in enumerate(merchants):
        path = PATHS[merchant.stage]
        if merchant.stage in (S.LIVE, S.PAUSED):
            # live before the events start; paused in the last weeks
            at = start - timedelta(days=int(rng.integers(40, 160)))
        else:
            at = end - timedelta(days=int(rng.integers(5, 45)) + 6 * len(path))
        previous = ""
        for step, stage in enumerate(path):
            if step:
                gap = int(rng.integers(2, 12))
                at = at + timedelta(days=gap)
                if stage == S.PAUSED:
                    at = end - timedelta(days=int(rng.integers(3, 40)))
            moment = _at(min(at, end), int(rng.integers(9, 18)))
            reason = reasons[index % len(reasons)] if stage == S.TERMINATED else None
            moves.append(MerchantStageMove(merchant=merchant, from_stage=previous, to_stage=stage, moved_by=owner,
                                           moved_at=moment, reason=reason,
                                           note="Signed elsewhere after two calls" if reason else ""))
            if stage in STAGE_DATE_FIELDS:
                setattr(merchant, STAGE_DATE_FIELDS[stage], moment)
            merchant.stage_changed_at = moment
            if reason:
                merchant.loss_reason, merchant.loss_note = reason, "Signed elsewhere after two calls"
            previous = stage
        # the operator's estimate of what a merchant in the pipeline will sell a month (no random draw: the rest of the
        # demo's sequence stays as it was)
        if merchant.stage not in (S.LIVE, S.PAUSED, S.TERMINATED) and index % 3 != 2:
            merchant.expected_monthly_gmv = Decimal(20_000 + (index * 7_919) % 180_000 // 1_000 * 1_000)
        # the relationship log: a few contacts over the period, the newest with a follow-up
        for k in range(int(rng.integers(0, 4))):
            kind = ["visit", "call", "message", "training", "meetup"][int(rng.integers(0, 5))]
            when = end - timedelta(days=int(rng.integers(1, min(days, 60))) + 7 * k)
            notes, outcome = CONTACT_NOTES[kind]
            follow = None
            if k == 0 and index % 3 == 0:
                follow = end + timedelta(days=int(rng.integers(-6, 8)))
            contacts.append(MerchantContact(merchant=merchant, kind=kind, notes=notes, outcome=outcome,
                                            happened_at=_at(when, int(rng.integers(9, 19))), logged_by=owner,
                                            follow_up_on=follow))
    today = timezone.localdate()
    for contact in contacts[:4]:  # a few due today, so the to-do list has something on the day you look
        contact.follow_up_on = today
    Merchant.objects.bulk_update(merchants, ["stage", "stage_changed_at", "contacted_at", "negotiating_at",
                                             "signed_at", "live_at", "paused_at", "terminated_at", "loss_reason",
                                             "loss_note", "expected_monthly_gmv"], batch_size=500)
    MerchantStageMove.objects.bulk_create(moves, batch_size=1000)
    MerchantContact.objects.bulk_create(contacts, batch_size=1000)
    return len(moves), len(contacts)


def _targets(*, end: date, admin) -> None:
    month = end.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    quarter_start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    for category, city, target in (("", "", 12), ("food", "", 5), ("drinks", "Shanghai", 3), ("", "Beijing", 4)):
        RecruitmentTarget.objects.get_or_create(period_start=month, period_end=next_month - timedelta(days=1),
                                                category=category, city=city,
                                                defaults={"target": target, "created_by": admin})
    RecruitmentTarget.objects.get_or_create(period_start=quarter_start, period_end=quarter_start + timedelta(days=90),
                                            category="", city="", defaults={"target": 30, "created_by": admin})


def _training(rng, *, end: date, owner) -> None:
    courses = [Course.objects.get_or_create(code=code, defaults={"name": name, "description": description,
                                                                 "required_for": tiers})[0]
               for code, name, description, tiers in COURSES]
    live = list(Merchant.objects.filter(stage=S.LIVE).order_by("code").values_list("pk", flat=True))
    now = timezone.now()
    for i, course in enumerate(courses):
        for k, offset in enumerate((-40 + 7 * i, -12 + 3 * i, 9 + 2 * i)):
            session = TrainingSession.objects.create(
                course=course, starts_at=_at(end + timedelta(days=offset), 14), trainer=["Li Na", "Wang Wei"][k % 2],
                place="" if k == 1 else "Xuhui office, room 3", online=k == 1, capacity=40)
            chosen = rng.choice(live, size=min(len(live), int(rng.integers(8, 25))), replace=False) if live else []
            past = offset < 0
            Enrolment.objects.bulk_create([Enrolment(
                session=session, merchant_id=int(m), enrolled_at=now,
                status=(Enrolment.Status.ATTENDED if rng.random() < 0.8 else Enrolment.Status.ABSENT) if past
                else Enrolment.Status.ENROLLED) for m in chosen], ignore_conflicts=True)


def _certify() -> None:
    """Certify merchants that attended every course required for their tier (set-based over the small curriculum)."""
    courses = list(Course.objects.all())
    attended: dict[int, set[int]] = {}
    for merchant_id, course_id in Enrolment.objects.filter(status=Enrolment.Status.ATTENDED).values_list(
            "merchant_id", "session__course_id"):
        attended.setdefault(merchant_id, set()).add(course_id)
    tiers = dict(Merchant.objects.exclude(tier="").values_list("pk", "tier"))
    now = timezone.now()
    certifications = []
    for merchant_id, tier in tiers.items():
        required = {c.pk for c in courses if tier in c.required_for}
        if required and required <= attended.get(merchant_id, set()):
            certifications.append(Certification(merchant_id=merchant_id, tier=tier, certified_at=now))
    Certification.objects.bulk_create(certifications, ignore_conflicts=True)


def _campaigns(rng, *, end: date, owner) -> None:
    plans = [("Spring noodle festival", Campaign.Kind.FESTIVAL, -30, -17, 20000, [Tier.CORE, Tier.POTENTIAL]),
             ("Lunch-time coupons", Campaign.Kind.COUPON, -10, 4, 8000, [Tier.POTENTIAL]),
             ("Win back at-risk shops", Campaign.Kind.TRAFFIC, 3, 17, 5000, [Tier.AT_RISK])]
    for name, kind, start, stop, budget, tiers in plans:
        campaign = Campaign.objects.create(name=name, kind=kind, starts_on=end + timedelta(days=start),
                                           ends_on=end + timedelta(days=stop), budget=budget, target_tiers=tiers,
                                           created_by=owner)
        merchants = list(Merchant.objects.filter(stage=S.LIVE, tier__in=tiers).order_by("code")
                         .values_list("pk", flat=True)[:30])
        invited_at = _at(end + timedelta(days=start - 7))
        invites = []
        for merchant_id in merchants:
            roll = rng.random()
            if start > 0:
                status = CampaignInvite.Status.INVITED if roll < 0.6 else CampaignInvite.Status.ACCEPTED
            else:
                status = (CampaignInvite.Status.TOOK_PART if roll < 0.55 else CampaignInvite.Status.DECLINED
                          if roll < 0.8 else CampaignInvite.Status.ACCEPTED)
            invites.append(CampaignInvite(campaign=campaign, merchant_id=merchant_id, status=status, invited_by=owner,
                                          invited_at=invited_at,
                                          responded_at=None if status == CampaignInvite.Status.INVITED
                                          else invited_at + timedelta(days=2)))
        CampaignInvite.objects.bulk_create(invites, ignore_conflicts=True)
        MerchantContact.objects.bulk_create([MerchantContact(
            merchant_id=m, kind=MerchantContact.Kind.CAMPAIGN_INVITE, notes=name, happened_at=invited_at,
            logged_by=owner) for m in merchants])
