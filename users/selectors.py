"""Reads of the users app. Every list declares its joins (customers have none); tests pin the query counts.

Events are read only through analytics (``analytics.services.customer_activity``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.selectors import (
    event_names,
    first_touch_repeat,
    first_touch_revenue_by_day,
    person_id_of,
    person_timeline,
)
from ops_platform.core import clock, periods
from ops_platform.core.invites import invite_code_of
from users.models import (
    FRAUD_OBSERVATION_WINDOW,
    ChannelSpend,
    Coupon,
    CouponCampaign,
    CouponRedemption,
    Customer,
    CustomerRefresh,
    RfmSegment,
    Segment,
    SegmentSize,
    Stage,
    StageDaily,
    StageFlow,
)
from users.services.coupons import coupon_campaign_results
from users.services.customers import rfm_segment_of
from users.services.segments import CHOICE_FIELDS, COUNT_OPERATORS, DATE_FIELDS, NUMBER_FIELDS, TEXT_FIELDS

NONE_CHANNEL = "(none)"
REVENUE_DAYS = (30, 60, 90)
# Ordering again is judged within this many days of the first visit, on customers who have had them (channel quality
# and its nightly alert): the share of all-time repeaters falls with a cohort's age, so young weeks always look worse.
REPEAT_DAYS = 14
# Channel quality ranks on the longest revenue window that at least this share of the range's sign-ups has reached.
MATURE_SHARE = 0.5


def local_range(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[date_from 00:00, date_to + 1 day 00:00) in TIME_ZONE."""
    return periods.local_range(date_from, date_to)


# Customers


def customer_list(*, q: str | None = None, stage: str | None = None, channel: str | None = None,
                  rfm_segment: str | None = None, min_orders: int | None = None,
                  first_seen_from: date | None = None, first_seen_to: date | None = None) -> QuerySet[Customer]:
    """Customers, newest first. One query; no joins."""
    customers = Customer.objects.all()
    if q:
        customers = customers.filter(Q(distinct_id__icontains=q) | Q(referrer__iexact=q)
                                     | Q(referrer=invite_code_of(q)) | Q(invite_code__iexact=q))
    if stage:
        customers = customers.filter(stage=stage)
    if channel:
        customers = customers.filter(first_channel="" if channel == NONE_CHANNEL else channel)
    if rfm_segment:
        customers = customers.filter(rfm_segment=rfm_segment)
    if min_orders is not None:
        customers = customers.filter(orders__gte=min_orders)
    if first_seen_from or first_seen_to:
        start, end = local_range(first_seen_from or date(1970, 1, 1), first_seen_to or date(2099, 12, 31))
        customers = customers.filter(first_seen_at__gte=start, first_seen_at__lt=end)
    return customers.order_by("-first_seen_at", "person_id")


def customer_get(*, distinct_id: str) -> Customer | None:
    """The customer of a distinct id — also of an anonymous id merged into a customer (identity)."""
    customer = Customer.objects.filter(distinct_id=distinct_id).first()
    if customer is None:
        person_id = person_id_of(distinct_id=distinct_id)
        customer = Customer.objects.filter(person_id=person_id).first() if person_id is not None else None
    return customer


def customer_timeline(*, customer: Customer, limit: int = 200) -> list[dict]:
    return person_timeline(person_id=customer.person_id, limit=limit)


def customer_refresh_latest() -> CustomerRefresh | None:
    return CustomerRefresh.objects.first()


def customer_summary() -> dict:
    """Totals, customers per stage and the RFM grid (counts per recency × frequency cell). Three queries."""
    totals = Customer.objects.aggregate(customers=Count("person_id"), buyers=Count("person_id", filter=Q(orders__gt=0)),
                                        signed_up=Count("person_id", filter=Q(signed_up_at__isnull=False)),
                                        spend=Sum("spend"))
    per_stage = dict(Customer.objects.values_list("stage").order_by().annotate(n=Count("person_id")))
    grouped = (Customer.objects.filter(orders__gt=0).values("recency_score", "frequency_score", "rfm_segment")
               .order_by().annotate(n=Count("person_id")))
    grid = {(row["recency_score"], row["frequency_score"]): row for row in grouped}
    segments: dict[str, int] = defaultdict(int)
    for row in grid.values():
        segments[row["rfm_segment"]] += row["n"]
    rows = []
    for recency in range(5, 0, -1):
        cells = []
        for frequency in range(1, 6):
            segment = rfm_segment_of(recency=recency, frequency=frequency)
            cells.append({"frequency": frequency, "customers": grid.get((recency, frequency), {}).get("n", 0),
                          "segment": segment, "segment_label": str(RfmSegment(segment).label)})
        rows.append({"recency": recency, "cells": cells})
    return {
        "customers": totals["customers"], "buyers": totals["buyers"], "signed_up": totals["signed_up"],
        "spend": float(totals["spend"] or 0),
        "stages": [{"stage": stage.value, "label": str(stage.label), "customers": per_stage.get(stage.value, 0)}
                   for stage in Stage],
        "rfm_grid": rows,
        "rfm_segments": dict(sorted(segments.items(), key=lambda item: -item[1])),
    }


# Life cycle


def stage_daily_series(*, date_from: date, date_to: date) -> dict:
    """Customers per stage per day, as Chart.js-ready series: {"dates": [...], "stages": {stage: [n, …]}}."""
    rows = StageDaily.objects.filter(date__gte=date_from, date__lte=date_to).values_list("date", "stage",
                                                                                         "customers")
    dates = sorted({row[0] for row in rows})
    index = {day: i for i, day in enumerate(dates)}
    stages = {stage.value: [0] * len(dates) for stage in Stage}
    for day, stage, customers in rows:
        stages.setdefault(stage, [0] * len(dates))[index[day]] = customers
    names = dict(Stage.choices)
    return {"dates": [day.isoformat() for day in dates], "stages": stages,
            "labels": {stage: str(names.get(stage, stage)) for stage in stages}}


def lifecycle_report(*, date_from: date, date_to: date) -> dict:
    """The life-cycle page's figures: customers per stage per day and the flows between stages (two queries)."""
    return {**stage_daily_series(date_from=date_from, date_to=date_to),
            "flows": stage_flows(date_from=date_from, date_to=date_to)}


def stage_flows(*, date_from: date, date_to: date) -> list[dict]:
    """Customers moving between stages in the range, summed, largest first (with the stages' display names;
    ``from_stage`` "" = first seen)."""
    names = dict(Stage.choices)
    flows = list(StageFlow.objects.filter(date__gte=date_from, date__lte=date_to).values("from_stage", "to_stage")
                 .order_by().annotate(customers=Sum("customers")).order_by("-customers", "from_stage", "to_stage"))
    for flow in flows:
        flow["from_label"] = str(names.get(flow["from_stage"], flow["from_stage"]))
        flow["to_label"] = str(names.get(flow["to_stage"], flow["to_stage"]))
    return flows


# Channels


def channel_spend_list() -> QuerySet[ChannelSpend]:
    return ChannelSpend.objects.order_by("-period_start", "channel")


def channel_spend_in(*, date_from: date, date_to: date) -> dict[str, Decimal]:
    """Spend per channel attributed to [date_from, date_to]: each period's amount prorated by the days it overlaps."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for row in ChannelSpend.objects.filter(period_start__lte=date_to, period_end__gte=date_from):
        days = (row.period_end - row.period_start).days + 1
        overlap = (min(row.period_end, date_to) - max(row.period_start, date_from)).days + 1
        spend[row.channel] += row.amount * overlap / days
    return {channel: amount.quantize(Decimal("0.01")) for channel, amount in spend.items()}


def _ratio(numerator, denominator):
    return round(float(numerator) / float(denominator), 4) if denominator else None


def channel_quality(*, date_from: date, date_to: date, now: datetime | None = None) -> dict:
    """Each first-touch channel judged by what its customers first seen in the range went on to do.

    Per channel: visitors, sign-ups (acquired customers), activation rate (sign-ups / visitors), buyers, repeat
    rate (2+ orders / buyers, to date), spend (prorated), CAC (spend / sign-ups).

    Ordering again is also judged on **mature** customers: ``repeat_rate_14d`` is the share, among the customers
    first seen at least ``REPEAT_DAYS`` (14) days before ``now`` who ordered within 14 days of their first visit
    (``buyers_14d``), of those who ordered twice or more within those 14 days; ``None`` when there are none. Unlike
    ``repeat_rate`` it does not fall with a cohort's age, so two weeks can be compared on it.

    Revenue is judged on **mature** customers only: ``revenue_Nd_per_customer`` (N = 30, 60, 90) is the revenue
    within N days of the first visit of the customers first seen at least N days before ``now``, per signed-up
    customer among them; ``customers_Nd`` is how many signed-up customers that is (``None`` revenue when 0). A
    cohort younger than N days has no N-day figure instead of a partial one.

    ROI, payback and the ranking use ONE window for every channel, ``roi_window``: the longest N for which at least
    ``MATURE_SHARE`` (half) of the range's signed-up customers are mature — a window only a sliver of the cohort has
    reached ranks on a handful of customers. ``None`` when even 30 days is too young: then ROI and payback are
    ``None`` and the channels are ranked by activation rate (``ranked_by`` says which).
    ROI = (revenue_N per customer − CAC) / CAC; payback = the first day the mature customers' cumulative revenue
    per customer covers the CAC. The curve (cumulative revenue per customer by day since the first visit) follows one
    population, the channel's customers who have had its longest window (so it never jumps where the population
    would change, and ends where the cohort is too young); it ends on that window's ``revenue_Nd_per_customer``.
    Four queries.
    """
    now = now or clock.now()
    start, end = local_range(date_from, date_to)
    cutoffs = {days: now - timedelta(days=days) for days in REVENUE_DAYS}
    cohorts = (Customer.objects.filter(first_seen_at__gte=start, first_seen_at__lt=end).values("first_channel")
               .order_by().annotate(visitors=Count("person_id"),
                                    signups=Count("person_id", filter=Q(signed_up_at__isnull=False)),
                                    buyers=Count("person_id", filter=Q(orders__gte=1)),
                                    repeaters=Count("person_id", filter=Q(orders__gte=2)),
                                    **{f"customers_{days}d": Count("person_id", filter=Q(
                                        signed_up_at__isnull=False, first_seen_at__lte=cutoffs[days]))
                                       for days in REVENUE_DAYS}))
    spend = channel_spend_in(date_from=date_from, date_to=date_to)
    horizon = max(REVENUE_DAYS)
    revenue_days = first_touch_revenue_by_day(start=start, end=end, max_days=horizon, now=now, windows=REVENUE_DAYS)
    repeat = first_touch_repeat(start=start, end=end, days=REPEAT_DAYS, now=now)
    # revenue[channel][w][d]: revenue on day d since the first visit of the customers mature for window w
    revenue: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(REVENUE_DAYS), horizon)))
    for row in revenue_days:
        for index, days in enumerate(REVENUE_DAYS):
            if row["mature"] >= days:
                revenue[row["channel"]][index, row["day"]] += row["revenue"]
    cohorts = list(cohorts)
    signed_up = sum(cohort["signups"] for cohort in cohorts)
    window = next((days for days in sorted(REVENUE_DAYS, reverse=True)
                   if signed_up and sum(cohort[f"customers_{days}d"] for cohort in cohorts)
                   >= MATURE_SHARE * signed_up), None)
    rows = []
    for cohort in cohorts:
        channel = cohort["first_channel"] or NONE_CHANNEL
        cumulative = np.cumsum(revenue[channel], axis=1)
        mature = [cohort[f"customers_{days}d"] for days in REVENUE_DAYS]
        # the curve follows ONE population: the customers who have had the channel's longest window
        longest = max((index for index, n in enumerate(mature) if n), default=None)
        curve = ([] if longest is None else
                 [round(float(value) / mature[longest], 4) for value in cumulative[longest, :REVENUE_DAYS[longest]]])
        per_customer = {days: _ratio(cumulative[index, days - 1], mature[index])
                        for index, days in enumerate(REVENUE_DAYS)}
        cost = float(spend.get(channel, 0))
        signups = cohort["signups"]
        cac = round(cost / signups, 2) if cost and signups else None
        value = per_customer.get(window) if window else None
        payback = None
        if cac and value is not None:
            index = REVENUE_DAYS.index(window)
            payback = next((day for day, amount in enumerate(cumulative[index, :window] / mature[index])
                            if amount >= cac), None)
        rows.append({
            "channel": channel, "visitors": cohort["visitors"], "signups": signups, "buyers": cohort["buyers"],
            "activation_rate": _ratio(signups, cohort["visitors"]),
            "repeat_rate": _ratio(cohort["repeaters"], cohort["buyers"]),
            f"repeat_rate_{REPEAT_DAYS}d": _ratio(repeat.get(channel, {}).get("repeaters", 0),
                                                  repeat.get(channel, {}).get("buyers", 0)),
            f"buyers_{REPEAT_DAYS}d": repeat.get(channel, {}).get("buyers", 0),
            "spend": round(cost, 2), "cac": cac,
            **{key: item for days, n in zip(REVENUE_DAYS, mature, strict=True)
               for key, item in ((f"revenue_{days}d_per_customer", per_customer[days]), (f"customers_{days}d", n))},
            "revenue_90d": round(float(cumulative[-1, -1]), 2) if mature[-1] else None,  # of customers_90d
            "payback_days": payback,
            "roi": round((value - cac) / cac, 4) if cac and value is not None else None,
            "curve": curve,
        })
    if window:
        rows.sort(key=lambda r: (r["roi"] is None, -(r["roi"] or 0), -(r[f"revenue_{window}d_per_customer"] or 0),
                                 r["channel"]))
    else:  # no mature revenue to rank on: by activation rate, which a young cohort already has
        rows.sort(key=lambda r: (-(r["activation_rate"] or 0), -r["signups"], r["channel"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    # spend on channels that brought nobody in the range is still shown (CAC undefined, all of it lost)
    for channel in sorted(set(spend) - {row["channel"] for row in rows}):
        rows.append({"channel": channel, "visitors": 0, "signups": 0, "buyers": 0, "activation_rate": None,
                     "repeat_rate": None, f"repeat_rate_{REPEAT_DAYS}d": None, f"buyers_{REPEAT_DAYS}d": 0,
                     "spend": float(spend[channel]), "cac": None,
                     **{key: item for days in REVENUE_DAYS
                        for key, item in ((f"revenue_{days}d_per_customer", None), (f"customers_{days}d", 0))},
                     "revenue_90d": None, "payback_days": None, "roi": -1.0, "curve": [], "rank": len(rows) + 1})
    return {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "roi_window": window,
            "ranked_by": "roi" if window else "activation_rate",
            "mature_before": {str(days): timezone.localtime(cutoffs[days]).date().isoformat()
                              for days in REVENUE_DAYS},
            "channels": rows}


# Segments


RULE_EVENTS = ["order_paid", "signup", "visit", "order_received", "review"]


def segment_rule_schema() -> dict:
    """What the visual rule builder offers: fields by kind with their labels, choices and operators, the usual
    events (the stored event names, offered as you type, the usual ones first: one query), and the operator names —
    the same vocabulary ``segment_rules_check`` validates."""
    labels = {
        "stage": _("Life-cycle stage"), "rfm_segment": _("RFM segment"), "first_channel": _("First-touch channel"),
        "utm_source": _("UTM source"), "utm_medium": _("UTM medium"), "utm_campaign": _("UTM campaign"),
        "referrer": _("Referrer"), "distinct_id": _("Customer id"), "orders": _("Orders"), "spend": _("Spend"),
        "recency_score": _("Recency score (1–5)"), "frequency_score": _("Frequency score (1–5)"),
        "monetary_score": _("Monetary score (1–5)"), "first_seen_at": _("First seen"),
        "last_seen_at": _("Last seen"), "signed_up_at": _("Signed up"), "first_order_at": _("First order"),
        "last_order_at": _("Last order"),
    }
    choices = {"stage": [[str(v), str(label)] for v, label in Stage.choices],
               "rfm_segment": [[str(v), str(label)] for v, label in RfmSegment.choices] + [["", _("(no orders)")]]}
    kinds = ([("choice", name) for name in CHOICE_FIELDS] + [("text", name) for name in sorted(TEXT_FIELDS)]
             + [("number", name) for name in sorted(NUMBER_FIELDS)] + [("date", name) for name in sorted(DATE_FIELDS)])
    order = list(labels)
    fields = sorted(({"name": name, "kind": kind, "label": str(labels[name]), "choices": choices.get(name, [])}
                     for kind, name in kinds), key=lambda field: order.index(field["name"]))
    return {
        "fields": fields,
        "events": list(dict.fromkeys([*RULE_EVENTS, *event_names(limit=500)])),
        "operators": {
            "choice": ["in", "not_in", "eq", "ne"], "text": ["eq", "ne", "in", "not_in"],
            "number": ["gte", "gt", "eq", "ne", "lte", "lt"], "date": ["within_days", "before_days", "is_set",
                                                                          "not_set"],
            "event": sorted(COUNT_OPERATORS, key=["gte", "lte", "eq"].index),
        },
        "operator_labels": {
            "eq": _("is"), "ne": _("is not"), "in": _("is one of"), "not_in": _("is none of"), "gt": ">",
            "gte": "≥", "lt": "<", "lte": "≤", "within_days": _("in the last … days"),
            "before_days": _("more than … days ago"), "is_set": _("is set"), "not_set": _("is not set"),
        },
        "event_operator_labels": {"gte": _("at least"), "lte": _("at most"), "eq": _("exactly")},
    }


def segment_list() -> QuerySet:
    return Segment.objects.select_related("created_by").order_by("name")


def segment_get(*, segment_id: int):
    return Segment.objects.select_related("created_by").filter(pk=segment_id).first()


def segment_members(*, segment) -> QuerySet[Customer]:
    """The stored members of a segment, as customers (one query, a semi-join on the membership table)."""
    return Customer.objects.filter(person_id__in=segment.members.values("customer_id")).order_by(
        "-first_seen_at", "person_id")


def segment_sizes(*, segment, days: int = 90) -> list[dict]:
    since = timezone.localdate() - timedelta(days=days)
    return list(segment.sizes.filter(date__gte=since).order_by("date").values("date", "size", "build_seconds"))


def segment_size_report(*, segment, date_from: date, date_to: date) -> dict:
    """A segment's stored size on each day of [date_from, date_to] (the last size before the range carried forward,
    None before the first build), and its size at the end of the range: ``{"segment": {"id", "name"}, "sizes":
    [{"date", "size"}], "size"}``. Two queries."""
    stored = segment_sizes_between(segment_ids=[segment.pk], date_from=date_from, date_to=date_to)
    by_day = {row["date"]: row["size"] for row in stored}
    carried = next((row["size"] for row in reversed(stored) if row["date"] < date_from), None)
    sizes = []
    for offset in range((date_to - date_from).days + 1):
        day = date_from + timedelta(days=offset)
        carried = by_day.get(day, carried)
        sizes.append({"date": day.isoformat(), "size": carried})
    return {"segment": {"id": segment.pk, "name": segment.name}, "sizes": sizes,
            "size": sizes[-1]["size"] if sizes else None}


def segment_size_changes(*, created_by, threshold: float = 0.2) -> list[dict]:
    """The creator's segments whose latest stored size moved by at least ``threshold`` (±) against the size stored
    before it: ``[{"segment_id", "name", "previous", "size", "date", "change"}]``, largest move first. One query
    (the two newest sizes of each segment, by a window function)."""
    ranked = (SegmentSize.objects.filter(segment__created_by=created_by)
              .annotate(rank=Window(RowNumber(), partition_by=[F("segment_id")], order_by=[F("date").desc(),
                                                                                          F("id").desc()]))
              .filter(rank__lte=2).values("segment_id", "segment__name", "date", "size", "rank"))
    latest: dict[int, dict] = {}
    previous: dict[int, int] = {}
    for row in ranked:
        if row["rank"] == 1:
            latest[row["segment_id"]] = row
        else:
            previous[row["segment_id"]] = row["size"]
    changes = []
    for segment_id, row in latest.items():
        before = previous.get(segment_id)
        if not before:
            continue
        change = (row["size"] - before) / before
        if abs(change) >= threshold:
            changes.append({"segment_id": segment_id, "name": row["segment__name"], "previous": before,
                            "size": row["size"], "date": row["date"], "change": round(change, 4)})
    return sorted(changes, key=lambda c: (-abs(c["change"]), c["name"]))


# Referral


UNRESOLVED = "(unresolved)"
# Fraud signals: a burst is BURST_SIGNUPS referred sign-ups within BURST_WINDOW; "never order" looks only at
# referred sign-ups at least NEVER_ORDER_AFTER old (younger ones have not had the time), at least MIN_REFERRED of
# them, of whom fewer than NEVER_ORDER_SHARE ordered.
BURST_SIGNUPS = 3
BURST_WINDOW = timedelta(hours=1)
NEVER_ORDER_AFTER = FRAUD_OBSERVATION_WINDOW  # 14 days, the coupon rule's too (users.models)
NEVER_ORDER_SHARE = 0.2
MIN_REFERRED = 3
REFERRAL_REASONS = {
    "self_referral": gettext_lazy("refers themselves"),
    "signup_burst": gettext_lazy("many sign-ups in a short time"),
    "referred_accounts_never_order": gettext_lazy("referred sign-ups never order"),
}


def _resolved(field: str = "distinct_id"):
    """The referring customer's ``field`` for a referred customer: ``referrer`` names their distinct_id or their
    invite code (the earliest customer seen before the sign-up holding it, if two codes collide); None when it names
    no customer (unresolved)."""
    by_id = Customer.objects.filter(distinct_id=OuterRef("referrer")).values(field)[:1]
    by_code = (Customer.objects.filter(invite_code=OuterRef("referrer"), first_seen_at__lte=OuterRef("signed_up_at"))
               .order_by("first_seen_at", "person_id").values(field)[:1])
    return Coalesce(Subquery(by_id), Subquery(by_code))


def referred_customers() -> QuerySet[Customer]:
    """Customers whose sign-up names a referrer, with ``referred_by`` = the referring customer's distinct_id (None
    when the referrer is unresolved)."""
    return Customer.objects.exclude(referrer="").annotate(referred_by=_resolved())


def referral_resolve(*, referrer: str, signed_up_at: datetime | None = None) -> Customer | None:
    """The customer a ``signup.referrer`` value names (a distinct_id or an invite code), or None."""
    if not referrer:
        return None
    customer = Customer.objects.filter(distinct_id=referrer).first()
    if customer is None:
        codes = Customer.objects.filter(invite_code=referrer)
        if signed_up_at is not None:
            codes = codes.filter(first_seen_at__lte=signed_up_at)
        customer = codes.order_by("first_seen_at", "person_id").first()
    return customer


def referral_tree(*, customer: Customer, depth: int = 3) -> list[dict]:
    """Who the customer brought in (naming their distinct_id or their invite code), and whom they brought, down to
    ``depth`` levels (one query per level)."""
    levels, frontier = [], [customer.distinct_id]
    for level in range(1, depth + 1):
        if not frontier:
            break
        names = [*frontier, *(invite_code_of(distinct_id) for distinct_id in frontier)]
        rows = list(referred_customers().filter(referrer__in=names, referred_by__in=frontier)
                    .order_by("signed_up_at", "person_id")
                    .values("distinct_id", "referrer", "referred_by", "signed_up_at", "orders", "spend")[:500])
        if not rows:
            break
        levels.append({"level": level, "customers": rows})
        frontier = [row["distinct_id"] for row in rows if row["distinct_id"] not in frontier]
    return levels


def referral_top(*, limit: int = 20) -> list[dict]:
    """Referrers (resolved to a customer) by referred sign-ups, with how many of those ordered and what they spent.
    One grouped query; unresolved referrers are left out (``referral_unresolved`` counts them)."""
    rows = (referred_customers().filter(referred_by__isnull=False).values("referred_by").order_by()
            .annotate(referred=Count("person_id"), buyers=Count("person_id", filter=Q(orders__gt=0)),
                      spend=Sum("spend"), first=Min("signed_up_at"), last=Max("signed_up_at"))
            .order_by("-referred", "referred_by")[:limit])
    return [{"referrer": row.pop("referred_by"), **row} for row in rows]


def referral_unresolved(*, limit: int = 5) -> dict:
    """Referred sign-ups whose referrer names no customer: how many, and the most frequent such values (shown as
    text, never as a referrer). One grouped query."""
    rows = list(referred_customers().filter(referred_by__isnull=True).values("referrer").order_by()
                .annotate(signups=Count("person_id")).order_by("-signups", "referrer"))
    return {"signups": sum(row["signups"] for row in rows),
            "values": [{"value": row["referrer"], "signups": row["signups"]} for row in rows[:limit]]}


def referral_fraud_signals(*, now: datetime | None = None) -> list[dict]:
    """Referrers whose referred accounts look made up (rules and thresholds above): self-referral, a burst of
    sign-ups in a short time, referred sign-ups old enough to have ordered that never did. One query of the
    resolved referred customers; the rules run on them vectorised (pandas)."""
    now = now or timezone.now()
    frame = pd.DataFrame(list(referred_customers().filter(referred_by__isnull=False)
                              .values_list("distinct_id", "referred_by", "signed_up_at", "orders")),
                         columns=["customer", "referrer", "signed_up_at", "orders"])
    if frame.empty:
        return []
    frame["signed_up_at"] = pd.to_datetime(frame["signed_up_at"], utc=True)
    frame["bought"] = frame["orders"] > 0
    frame["own"] = frame["customer"] == frame["referrer"]
    frame["old"] = frame["signed_up_at"] <= pd.Timestamp(now - NEVER_ORDER_AFTER)
    frame["old_bought"] = frame["old"] & frame["bought"]
    groups = frame.groupby("referrer")
    table = groups.agg(referred=("customer", "size"), buyers=("bought", "sum"), own=("own", "sum"),
                       old=("old", "sum"), old_bought=("old_bought", "sum"))
    timed = frame.dropna(subset=["signed_up_at"]).sort_values(["referrer", "signed_up_at"])
    burst = (timed.set_index("signed_up_at").groupby("referrer")["customer"]
             .rolling(BURST_WINDOW).count().groupby(level=0).max())
    table["burst"] = burst.reindex(table.index).fillna(0).astype(int)
    table["self_referral"] = table["own"] > 0
    table["signup_burst"] = table["burst"] >= BURST_SIGNUPS
    table["referred_accounts_never_order"] = (table["old"] >= MIN_REFERRED) & (
        table["old_bought"] < NEVER_ORDER_SHARE * table["old"])
    flagged = table[table[list(REFERRAL_REASONS)].any(axis=1)].reset_index()
    flagged = flagged.sort_values(["referred", "referrer"], ascending=[False, True])
    signals = []
    for row in flagged.itertuples(index=False):  # the flagged referrers only: a handful
        reasons = [reason for reason in REFERRAL_REASONS if getattr(row, reason)]
        signals.append({"referrer": row.referrer, "referred": int(row.referred), "buyers": int(row.buyers),
                        "largest_burst": int(row.burst), "reasons": reasons,
                        "reason_labels": [str(REFERRAL_REASONS[reason]) for reason in reasons]})
    return signals


def referral_referrers() -> dict:
    """The referral report: top (resolved) referrers, fraud signals and the unresolved referrers' count."""
    return {"top": referral_top(), "fraud_signals": referral_fraud_signals(), "unresolved": referral_unresolved()}


def referral_k_factor(*, date_from: date, date_to: date, today: date | None = None) -> list[dict]:
    """K-factor per month and per first-touch channel of the referrers: referred sign-ups in the month whose referrer
    (resolved from a distinct_id or an invite code) came from the channel ÷ sign-ups from that channel in the month;
    sign-ups whose referrer names no customer are counted under ``(unresolved)``. ``complete`` says whether the month
    has ended by ``today`` (default: the local today, ``periods``): the month in progress is a figure so far, never
    one to compare with a complete month. Two grouped queries."""
    start, end = local_range(date_from, date_to)
    zone = timezone.get_current_timezone()
    in_range = Customer.objects.filter(signed_up_at__gte=start, signed_up_at__lt=end)
    signups = (in_range.annotate(month=TruncMonth("signed_up_at", tzinfo=zone)).values("month", "first_channel")
               .order_by().annotate(n=Count("person_id")))
    referred = (in_range.exclude(referrer="").annotate(month=TruncMonth("signed_up_at", tzinfo=zone),
                                                       found=_resolved("person_id"),
                                                       channel=_resolved("first_channel"))
                .values("month", "found", "channel").order_by().annotate(n=Count("person_id")))
    base = {(_month(row["month"]), row["first_channel"] or NONE_CHANNEL): row["n"] for row in signups}
    brought: dict[tuple[str, str], int] = defaultdict(int)
    for row in referred:
        channel = (row["channel"] or NONE_CHANNEL) if row["found"] is not None else UNRESOLVED
        brought[(_month(row["month"]), channel)] += row["n"]
    result = []
    for key in sorted(set(base) | set(brought)):
        result.append({"month": key[0], "channel": key[1], "signups": base.get(key, 0),
                       "referred_signups": brought.get(key, 0),
                       "k_factor": _ratio(brought.get(key, 0), base.get(key, 0)),
                       "complete": periods.period_is_complete(date.fromisoformat(f"{key[0]}-01"), periods.MONTH,
                                                              today=today)})
    return result


def _month(value) -> str:
    return (value.date() if isinstance(value, datetime) else value).strftime("%Y-%m")


# Coupons


def coupon_campaign_list() -> QuerySet:
    return CouponCampaign.objects.select_related("segment", "created_by").order_by("-created_at")


def coupon_campaign_get(*, campaign_id: int):
    return CouponCampaign.objects.select_related("segment", "created_by").filter(pk=campaign_id).first()


def coupon_campaigns_ending(*, budget_share: float = 0.9, days: int = 7) -> QuerySet:
    """Running campaigns about to stop: at least ``budget_share`` of the budget committed, or ending within
    ``days`` days. One query; ``used_share`` is annotated."""
    now = timezone.now()
    return (CouponCampaign.objects.filter(valid_from__lte=now, valid_to__gt=now)
            .filter(Q(budget__gt=0, committed__gte=F("budget") * Decimal(str(budget_share)))
                    | Q(valid_to__lte=now + timedelta(days=days)))
            .select_related("created_by").order_by("valid_to", "name"))


def coupon_redemption_list(*, campaign, suspicious: bool | None = None) -> QuerySet:
    redemptions = CouponRedemption.objects.filter(coupon__campaign=campaign).select_related("coupon")
    if suspicious is not None:
        redemptions = redemptions.filter(suspicious=suspicious)
    return redemptions.order_by("-redeemed_at", "pk")


def coupon_codes(*, campaign) -> QuerySet:
    return Coupon.objects.filter(campaign=campaign).order_by("pk")


# Reads for goals


def segment_sizes_between(*, segment_ids: list[int], date_from: date, date_to: date) -> list[dict]:
    """The stored daily sizes of some segments in [date_from, date_to], plus each segment's last size before the
    range (so a level can be carried forward): ``[{"segment_id", "date", "size"}]`` by date. Two queries."""
    inside = list(SegmentSize.objects.filter(segment_id__in=segment_ids, date__gte=date_from, date__lte=date_to)
                  .values("segment_id", "date", "size"))
    before = SegmentSize.objects.filter(segment=OuterRef("pk"), date__lt=date_from).order_by("-date")
    latest = [{"segment_id": row["pk"], "date": row["last_date"], "size": row["last_size"]} for row in
              Segment.objects.filter(pk__in=segment_ids)
              .annotate(last_date=Subquery(before.values("date")[:1]), last_size=Subquery(before.values("size")[:1]))
              .filter(last_date__isnull=False).values("pk", "last_date", "last_size")]
    return sorted([*latest, *inside], key=lambda row: (row["date"], row["segment_id"]))


def coupon_roi(*, campaign_id: int | None = None, date_from: date, date_to: date) -> float | None:
    """Coupon ROI, (incremental revenue − discount cost) / cost, of one campaign or of every campaign valid at some
    point in [date_from, date_to] pooled (incremental revenue and cost summed first). None without a cost or a
    holdout. A few queries per campaign (``coupon_campaign_results``)."""
    if campaign_id is not None:
        campaign_ids = [campaign_id]
    else:
        start, end = local_range(date_from, date_to)
        campaign_ids = list(CouponCampaign.objects.filter(valid_from__lt=end, valid_to__gt=start)
                            .order_by("pk").values_list("pk", flat=True))
    incremental = cost = 0.0
    for pk in campaign_ids:
        results = coupon_campaign_results(campaign_id=pk)
        if results["incremental_revenue"] is None:
            continue
        incremental += results["incremental_revenue"]
        cost += results["cost"]
    return round((incremental - cost) / cost, 4) if cost else None
