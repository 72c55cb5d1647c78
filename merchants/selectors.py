"""Reads of the merchants app. Every list declares its joins; tests pin the query counts.

What a staff member may change is scoped here (``merchant_manageable``); every role reads every merchant.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from merchants.models import (
    Campaign,
    CampaignInvite,
    Enrolment,
    LossReason,
    Merchant,
    MerchantContact,
    MerchantMetrics,
    MerchantMetricsRun,
    MerchantStageMove,
    MerchantTierChange,
    RecruitmentTarget,
    StageSetting,
    Tier,
    TierRules,
    TrainingSession,
)
from ops_platform.core.periods import local_range, local_today
from ops_platform.core.roles import Role, roles_of

PIPELINE = [Merchant.Stage.LEAD, Merchant.Stage.CONTACTED, Merchant.Stage.NEGOTIATING, Merchant.Stage.SIGNED,
            Merchant.Stage.LIVE, Merchant.Stage.PAUSED, Merchant.Stage.TERMINATED]
DEFAULT_STALE_DAYS = {Merchant.Stage.LEAD: 14, Merchant.Stage.CONTACTED: 10, Merchant.Stage.NEGOTIATING: 21,
                      Merchant.Stage.SIGNED: 14, Merchant.Stage.PAUSED: 30}


def merchant_count() -> int:
    return Merchant.objects.count()


def merchant_count_live() -> int:
    return Merchant.objects.filter(stage=Merchant.Stage.LIVE).count()


def stale_days_by_stage() -> dict[str, int]:
    """Stage → stale after N days: the admin's settings over the defaults. Live and terminated never go stale."""
    days = dict(DEFAULT_STALE_DAYS)
    days.update(dict(StageSetting.objects.values_list("stage", "stale_after_days")))
    days.pop(Merchant.Stage.LIVE, None)
    days.pop(Merchant.Stage.TERMINATED, None)
    return days


def _stale_condition(stale_days: dict[str, int]) -> Q:
    now = timezone.now()
    condition = Q(pk__in=[])
    for stage, days in stale_days.items():
        condition |= Q(stage=stage, stage_changed_at__lt=now - timedelta(days=days))
    return condition


def merchant_queryset(*, stale_days: dict[str, int] | None = None) -> QuerySet[Merchant]:
    """Merchants with their owner and an ``is_stale`` flag: one query."""
    stale_days = stale_days_by_stage() if stale_days is None else stale_days
    return (Merchant.objects.select_related("owner", "loss_reason")
            .annotate(is_stale=Case(When(_stale_condition(stale_days), then=Value(True)), default=Value(False))))


def merchant_manageable(*, user) -> QuerySet[Merchant]:
    """The merchants ``user`` may change: all for admins, their own for merchant operators, none otherwise."""
    roles = roles_of(user)
    if Role.ADMIN in roles:
        return Merchant.objects.all()
    if Role.MERCHANT_OPS in roles:
        return Merchant.objects.filter(owner=user)
    return Merchant.objects.none()


def merchant_list(*, stage: list[str] | str | None = None, tier: str | None = None, city: str | None = None,
                  category: str | None = None, owner: int | None = None, stale: bool | None = None,
                  q: str | None = None, mine=None) -> QuerySet[Merchant]:
    """Filtered merchants (1 query + 1 for the stage settings)."""
    merchants = merchant_queryset()
    if stage:
        merchants = merchants.filter(stage__in=[stage] if isinstance(stage, str) else stage)
    if tier:
        merchants = merchants.filter(tier=tier)
    if city:
        merchants = merchants.filter(city=city)
    if category:
        merchants = merchants.filter(category=category)
    if owner:
        merchants = merchants.filter(owner_id=owner)
    if mine is not None:
        merchants = merchants.filter(owner=mine)
    if stale is not None:
        merchants = merchants.filter(is_stale=stale)
    if q:
        merchants = merchants.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(contact_person__icontains=q))
    return merchants.order_by("code")


def merchant_get(*, merchant_id: int) -> Merchant | None:
    return merchant_queryset().filter(pk=merchant_id).first()


def merchant_filter_choices() -> dict[str, list[str]]:
    """Cities and categories present, for the list's filters (2 queries)."""
    return {
        "cities": list(Merchant.objects.order_by("city").values_list("city", flat=True).distinct()),
        "categories": list(Merchant.objects.order_by("category").values_list("category", flat=True).distinct()),
    }


def _board_queryset(*, mine=None) -> QuerySet[Merchant]:
    """Merchants for the board: owner, stale flag and the next open follow-up date (a subquery, no query per card)."""
    next_follow_up = (MerchantContact.objects.filter(merchant=OuterRef("pk"), follow_up_done_at__isnull=True,
                                                     follow_up_on__isnull=False)
                      .order_by("follow_up_on").values("follow_up_on")[:1])
    merchants = merchant_queryset().annotate(next_follow_up=Subquery(next_follow_up))
    return merchants.filter(owner=mine) if mine is not None else merchants


BOARD_ORDER = (F("stage_changed_at").asc(nulls_first=True), F("code").asc())  # longest in the stage first


def merchant_board(*, mine=None, per_column: int = 30) -> list[dict]:
    """The pipeline board: one column per stage with its first ``per_column`` merchants (longest in the stage first)
    and how many it holds. One windowed query (+1 for the stage settings), however many merchants there are."""
    rows = list(_board_queryset(mine=mine).annotate(
        position=Window(RowNumber(), partition_by=[F("stage")], order_by=list(BOARD_ORDER)),
        in_column=Window(Count("pk"), partition_by=[F("stage")]),
    ).filter(position__lte=per_column).order_by("stage", "position"))
    by_stage: dict[str, list[Merchant]] = {stage: [] for stage in PIPELINE}
    counts = dict.fromkeys(PIPELINE, 0)
    for merchant in rows:
        by_stage[merchant.stage].append(merchant)
        counts[merchant.stage] = merchant.in_column
    return [{"stage": stage, "label": Merchant.Stage(stage).label, "merchants": by_stage[stage],
             "count": counts[stage]} for stage in PIPELINE]


def merchant_board_column(*, stage: str, offset: int = 0, limit: int = 30, mine=None) -> dict:
    """One column's page of the board: ``limit`` merchants from ``offset`` and the column's count (2 queries + 1)."""
    merchants = _board_queryset(mine=mine).filter(stage=stage)
    return {"stage": stage, "label": Merchant.Stage(stage).label, "count": merchants.count(),
            "merchants": list(merchants.order_by(*BOARD_ORDER)[offset:offset + limit])}


def merchant_stage_moves(*, merchant_id: int) -> QuerySet[MerchantStageMove]:
    return MerchantStageMove.objects.filter(merchant_id=merchant_id).select_related("moved_by", "reason")


def merchant_contacts(*, merchant_id: int) -> QuerySet[MerchantContact]:
    return MerchantContact.objects.filter(merchant_id=merchant_id).select_related("logged_by")


def loss_reasons() -> QuerySet[LossReason]:
    return LossReason.objects.filter(active=True)


def follow_ups_due(*, user, today: date | None = None) -> dict[str, list[MerchantContact]]:
    """The operator's open follow-ups on the merchants they own: ``{"overdue": [...], "today": [...]}`` (1 query)."""
    today = today or local_today()
    rows = (MerchantContact.objects.filter(merchant__owner=user, follow_up_done_at__isnull=True,
                                           follow_up_on__lte=today)
            .select_related("merchant").order_by("follow_up_on", "merchant__code"))
    result: dict[str, list[MerchantContact]] = {"overdue": [], "today": []}
    for row in rows:
        result["today" if row.follow_up_on == today else "overdue"].append(row)
    return result


def merchant_stale_for(*, user) -> QuerySet[Merchant]:
    """The owner's to-do list: their merchants stale in their stage."""
    return merchant_list(mine=user, stale=True)


def follow_up_load_by_owner(*, owner_ids: list[int], today: date | None = None) -> dict[int, dict]:
    """Open and overdue follow-ups per owner, for a team lead's view of each member's load (1 grouped query)."""
    today = today or local_today()
    rows = (MerchantContact.objects.filter(merchant__owner_id__in=owner_ids, follow_up_done_at__isnull=True,
                                           follow_up_on__isnull=False)
            .values("merchant__owner_id").order_by()
            .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(follow_up_on__lt=today))))
    return {row["merchant__owner_id"]: {"open": row["open"], "overdue": row["overdue"]} for row in rows}


def merchant_stale_count_by_owner(*, owner_ids: list[int]) -> dict[int, int]:
    """Stale pipeline merchants per owner (1 query + 1 for the stage settings)."""
    rows = (merchant_queryset().filter(owner_id__in=owner_ids, is_stale=True).values("owner_id").order_by()
            .annotate(n=Count("pk")))
    return {row["owner_id"]: row["n"] for row in rows}


def merchant_metrics_run_latest() -> MerchantMetricsRun | None:
    """The newest weekly merchant metrics run (a STARTED row long after its start was left by a crash)."""
    return MerchantMetricsRun.objects.order_by("-started_at", "-pk").first()


def recruitment_target_progress(*, today: date | None = None, target_ids: list[int] | None = None) -> list[dict]:
    """Each target (the newest 100, or those of ``target_ids``) with the merchants signed in its period (matching its
    category and city). One query per target would be N+1: the counts come from one conditional aggregate."""
    targets = RecruitmentTarget.objects.all()
    targets = list(targets.filter(pk__in=target_ids) if target_ids is not None else targets[:100])
    if not targets:
        return []
    aggregates = {}
    for target in targets:
        start, end = local_range(target.period_start, target.period_end)
        condition = Q(signed_at__gte=start, signed_at__lt=end)
        if target.category:
            condition &= Q(category=target.category)
        if target.city:
            condition &= Q(city=target.city)
        aggregates[f"t{target.pk}"] = Count("pk", filter=condition)
    counts = Merchant.objects.aggregate(**aggregates)
    today = today or local_today()
    result = []
    for target in targets:
        signed = counts[f"t{target.pk}"]
        days = (target.period_end - target.period_start).days + 1
        elapsed = min(max((today - target.period_start).days + 1, 0), days)
        result.append({"target": target, "signed": signed, "percent": round(100 * signed / target.target),
                       "expected_percent": round(100 * elapsed / days)})
    return result


# Metrics and tiers


def tier_rules_current() -> TierRules:
    """The rules in force: the newest version (version 1 with the defaults is made on first use)."""
    rules = TierRules.objects.order_by("-version").first()
    if rules is None:
        rules, _ = TierRules.objects.get_or_create(version=1)
    return rules


def merchant_metrics_series(*, merchant_id: int, weeks: int = 12) -> list[MerchantMetrics]:
    return list(reversed(MerchantMetrics.objects.filter(merchant_id=merchant_id).order_by("-period_start")[:weeks]))


def metrics_latest_period() -> date | None:
    return MerchantMetrics.objects.order_by("-period_start").values_list("period_start", flat=True).first()


def metrics_latest_complete_period() -> date | None:
    """The newest computed complete week: the one tiers, health scores and the at-risk alert are judged on."""
    return (MerchantMetrics.objects.filter(days__gte=7).order_by("-period_start")
            .values_list("period_start", flat=True).first())


def metrics_week_so_far() -> dict | None:
    """The newest computed week if it is still in progress: its first day and the days counted."""
    row = MerchantMetricsRun.objects.filter(status=MerchantMetricsRun.Status.DONE).order_by("-period_start").first()
    if row is None or row.days >= 7:
        return None
    return {"week": row.period_start, "days": row.days}


def tier_distribution() -> list[dict]:
    counts = dict(Merchant.objects.exclude(tier="").values_list("tier").annotate(n=Count("pk")).order_by())
    return [{"tier": tier, "label": Tier(tier).label, "count": counts.get(tier, 0)} for tier in Tier.values]


TIER_RANK = {Tier.AT_RISK: 0, Tier.ORDINARY: 1, Tier.POTENTIAL: 2, Tier.CORE: 3}


def tier_changes(*, direction: str | None = None, since: date | None = None,
                 merchant_id: int | None = None) -> QuerySet[MerchantTierChange]:
    """Tier changes, newest first; ``direction`` "up" or "down" keeps the movers that way (1 query)."""
    changes = MerchantTierChange.objects.select_related("merchant", "changed_by", "rules")
    if since:
        changes = changes.filter(period_start__gte=since)
    if merchant_id:
        changes = changes.filter(merchant_id=merchant_id)
    if direction in ("up", "down"):
        ups = Q()
        for low, low_rank in TIER_RANK.items():
            higher = [tier for tier, rank in TIER_RANK.items() if rank > low_rank]
            ups |= Q(from_tier=low, to_tier__in=higher)
        changes = changes.filter(ups if direction == "up" else ~ups & ~Q(from_tier=""))
    return changes


def upgrade_candidates(*, rules: TierRules | None = None) -> QuerySet[Merchant]:
    """Potential merchants whose health score is within the margin of core."""
    rules = rules or tier_rules_current()
    return (merchant_queryset().filter(tier=Tier.POTENTIAL,
                                       health_score__gte=max(rules.core_min_score - rules.upgrade_margin, 0))
            .order_by("-health_score", "code"))


def rotate_out_list(*, rules: TierRules | None = None) -> QuerySet[Merchant]:
    """Live merchants at risk in each of the last N computed complete weeks."""
    rules = rules or tier_rules_current()
    weeks = list(MerchantMetrics.objects.filter(days__gte=7).order_by("-period_start")
                 .values_list("period_start", flat=True).distinct()[:rules.rotate_out_periods])
    if len(weeks) < rules.rotate_out_periods:
        return Merchant.objects.none()
    at_risk_weeks = (MerchantMetrics.objects.filter(merchant=OuterRef("pk"), period_start__in=weeks)
                     .exclude(tier=Tier.AT_RISK))
    return (merchant_queryset().filter(tier=Tier.AT_RISK, stage=Merchant.Stage.LIVE)
            .filter(~Exists(at_risk_weeks), metrics__period_start=weeks[0]).order_by("health_score", "code"))



def tier_report(*, limit: int | None = None) -> dict:
    """What the tiers page shows and its file holds: the rules in force, merchants per tier, the movers of the week
    judged last (a week so far moves nobody), the upgrade candidates and the merchants to rotate out. ``limit``: the
    page's cut of each list (the file has them all)."""
    rules = tier_rules_current()
    week = metrics_latest_complete_period()

    def cut(rows):
        return list(rows if limit is None else rows[:limit])

    movers = {direction: cut(tier_changes(direction=direction).filter(period_start=week)) if week else []
              for direction in ("up", "down")}
    return {"rules": rules, "distribution": tier_distribution(), "latest_week": week,
            "ups": movers["up"], "downs": movers["down"], "candidates": cut(upgrade_candidates(rules=rules)),
            "rotate": cut(rotate_out_list(rules=rules))}


# Training and campaigns


def training_session_list() -> QuerySet[TrainingSession]:
    """Sessions with their course and how many are enrolled: one query."""
    return (TrainingSession.objects.select_related("course").annotate(enrolled=Count("enrolments"))
            .order_by("-starts_at"))


def training_session_enrolments(*, session_id: int) -> QuerySet[Enrolment]:
    """A session's enrolments with their merchants, by merchant code: one query."""
    return Enrolment.objects.filter(session_id=session_id).select_related("merchant").order_by("merchant__code")


def merchant_enrollable(*, user, session_id: int, tier: str | None = None) -> QuerySet[Merchant]:
    """The merchants ``user`` may enrol in a session: theirs, not terminated, not enrolled in it yet nor in another
    session of its course they have not missed (of ``tier``)."""
    merchants = merchant_manageable(user=user).exclude(stage=Merchant.Stage.TERMINATED)
    if tier:
        merchants = merchants.filter(tier=tier)
    course = TrainingSession.objects.filter(pk=session_id).values("course_id")
    enrolled = Enrolment.objects.filter(merchant_id=OuterRef("pk"), session__course_id=Subquery(course)).filter(
        Q(session_id=session_id) | Q(status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.ATTENDED]))
    return merchants.exclude(Exists(enrolled)).order_by("code")


def merchant_pickable(*, user, q: str = "", session_id: int | None = None, campaign_id: int | None = None,
                      tier: str | None = None) -> QuerySet[Merchant]:
    """What a merchant picker offers as ``user`` types ``q`` (code or name): the merchants they may enrol in a
    session, or invite to a campaign (theirs, not yet invited), or else every merchant; of ``tier``; by code. No
    select_related: a picker shows code and name only."""
    if session_id is not None:
        merchants = merchant_enrollable(user=user, session_id=session_id, tier=tier)
    elif campaign_id is not None:
        merchants = merchant_manageable(user=user).exclude(stage=Merchant.Stage.TERMINATED).exclude(
            campaign_invites__campaign_id=campaign_id)
    else:
        merchants = Merchant.objects.all()
    if tier:
        merchants = merchants.filter(tier=tier)
    if q:
        merchants = merchants.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return merchants.only("pk", "code", "name").order_by("code")


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns with their invitation counts per status: one query."""
    statuses = CampaignInvite.Status
    return Campaign.objects.annotate(
        invited=Count("invites"),
        accepted=Count("invites", filter=Q(invites__status__in=[statuses.ACCEPTED, statuses.TOOK_PART])),
        declined=Count("invites", filter=Q(invites__status=statuses.DECLINED)),
        took_part=Count("invites", filter=Q(invites__status=statuses.TOOK_PART)),
    ).order_by("-starts_on", "name")


def campaign_invites(*, campaign_id: int) -> QuerySet[CampaignInvite]:
    return (CampaignInvite.objects.filter(campaign_id=campaign_id).select_related("merchant", "merchant__owner")
            .order_by("merchant__code"))


# Reads for goals (counts per local day and owner; the goals app sums them over its periods)

MILESTONE_FIELDS = {"signed": "signed_at", "live": "live_at"}


def merchants_reached_daily(*, milestone: str, date_from: date, date_to: date) -> list[dict]:
    """Merchants that reached a milestone ("signed" or "live") per local day and owner within [date_from, date_to]:
    ``[{"date", "owner_id", "count"}]``. One grouped query."""
    field = MILESTONE_FIELDS[milestone]
    tz = timezone.get_current_timezone()
    start, end = local_range(date_from, date_to)
    return list(Merchant.objects.filter(**{f"{field}__gte": start, f"{field}__lt": end})
                .annotate(day=TruncDate(field, tzinfo=tz)).values("day", "owner_id").order_by()
                .annotate(count=Count("pk")).values("day", "owner_id", "count"))


def merchants_reached_list(*, milestone: str, date_from: date, date_to: date, owner_id: int | None = None,
                           limit: int = 20) -> list[Merchant]:
    """The merchants that reached a milestone within the range (one owner's, or everyone's), latest first."""
    field = MILESTONE_FIELDS[milestone]
    start, end = local_range(date_from, date_to)
    merchants = Merchant.objects.select_related("owner").filter(**{f"{field}__gte": start, f"{field}__lt": end})
    if owner_id is not None:
        merchants = merchants.filter(owner_id=owner_id)
    return list(merchants.order_by(f"-{field}", "code")[:limit])


def merchants_in_tier_weekly(*, tier: str, date_from: date, date_to: date) -> list[dict]:
    """Merchants in ``tier`` per computed week and owner, for the weeks starting within [date_from - 6 days,
    date_to]: ``[{"week", "owner_id", "count"}]``. One grouped query on the nightly metrics."""
    return list(MerchantMetrics.objects.filter(period_start__gte=date_from - timedelta(days=6),
                                               period_start__lte=date_to, tier=tier)
                .values("period_start", "merchant__owner_id").order_by().annotate(count=Count("pk"))
                .values("period_start", "merchant__owner_id", "count"))


def merchant_names(*, codes: list[str]) -> dict[str, Merchant]:
    """Merchants by code (to name the codes found in events). One query."""
    return {merchant.code: merchant for merchant in Merchant.objects.filter(code__in=codes)}


MOVES_LIMIT = 50


def tier_moves_report(*, date_from: date, date_to: date) -> dict:
    """The tier changes of the weeks starting in [date_from, date_to]: how many moved up, down or got their first
    tier, and the movers (down first, then up; 25 of each at most). One query."""
    changes = list(tier_changes(since=date_from).filter(period_start__lte=date_to).order_by("merchant__code")[:1000])
    up = [c for c in changes if c.from_tier and TIER_RANK.get(Tier(c.to_tier), 0) > TIER_RANK.get(Tier(c.from_tier), 0)]
    down = [c for c in changes
            if c.from_tier and TIER_RANK.get(Tier(c.to_tier), 0) < TIER_RANK.get(Tier(c.from_tier), 0)]
    return {"up": len(up), "down": len(down), "new": len([c for c in changes if not c.from_tier]),
            "moves": [{"code": c.merchant.code, "name": c.merchant.name, "from_tier": c.from_tier,
                       "to_tier": c.to_tier} for c in down[:MOVES_LIMIT // 2] + up[:MOVES_LIMIT // 2]]}


def tier_stability(*, date_from: date | None = None, date_to: date | None = None) -> list[dict]:
    """Per computed complete week (oldest first): live merchants with a tier that week, how many of them the nightly
    run moved (first tiers not counted), how many fell to at-risk, and the share that moved. Two grouped queries."""
    weeks = MerchantMetrics.objects.filter(days__gte=7).exclude(tier="")
    moves = MerchantTierChange.objects.filter(changed_by=None).exclude(from_tier="")
    if date_from:
        weeks, moves = weeks.filter(period_start__gte=date_from), moves.filter(period_start__gte=date_from)
    if date_to:
        weeks, moves = weeks.filter(period_start__lte=date_to), moves.filter(period_start__lte=date_to)
    tiered = dict(weeks.values_list("period_start").annotate(n=Count("pk")).order_by())
    moved = {row["period_start"]: row for row in moves.values("period_start").order_by().annotate(
        n=Count("pk"), at_risk=Count("pk", filter=Q(to_tier=Tier.AT_RISK)))}
    return [{"week": week, "merchants": tiered[week], "moved": moved.get(week, {}).get("n", 0),
             "to_at_risk": moved.get(week, {}).get("at_risk", 0),
             "share": moved.get(week, {}).get("n", 0) / tiered[week]} for week in sorted(tiered)]
