"""The demo data set: staff (one per role), merchants, a realistic event stream and the product loop on top of it
(tickets in every state, tracking plans, launches with real effects in the events, feedback: ``products.demo``).

Everything is drawn from one seeded NumPy generator and laid out relative to ``end`` (default: yesterday),
so a given ``seed`` and ``end`` always give the same data, down to each event's uuid; running it twice stores
nothing new (events are deduplicated by uuid, staff and merchants by name and code).

The stream is generated column-wise (vectorised over customers and sessions, no loop per customer):

- customers arrive over the period through eight channels of different volume *and* quality (sign-up rate,
  order propensity, how long they stay), more at weekends and growing over the period;
- each customer has sessions (``visit``; returning visits are ``direct``), which may go on to
  ``view_merchant`` → ``add_to_cart`` → ``order_paid`` → ``order_received`` → ``review``;
- sessions happen when people order food: peaks at lunch and in the evening;
- part of the traffic comes from referrals: their ``signup`` names an earlier customer as ``referrer``;
- a third of the customers who sign up browse under a cookie id first, linked to them by an identify at sign-up
  (``demo_anonymous_browsing``): every page shows them as one customer with the anonymous visit's channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from analytics.models import MetricsRun
from analytics.selectors import aarrr_daily_list
from analytics.services.identity import Link, identities_link
from analytics.services.loading import EventRow, events_load
from analytics.services.metrics import metrics_run_execute
from desk.demo import demo_desk_ensure
from goals.demo import demo_goals_ensure
from goals.periods import QUARTER, period_start_of
from merchants.demo import merchants_demo_ensure
from merchants.models import Merchant
from ops_platform.accounts.models import Staff
from ops_platform.accounts.services import staff_create
from ops_platform.core.periods import local_day_start
from ops_platform.core.roles import Role
from products.demo import demo_product_events, demo_product_loop_ensure
from users.demo import demo_user_ops_ensure

DEMO_PASSWORD = "demo-pass-123"
LOAD_CHUNK = 25_000

# name, share of new customers, sign-up rate, order propensity, mean lifetime (days), utm source/medium
CHANNELS = [
    ("organic", 0.20, 0.62, 0.55, 75, "", ""),
    ("app_store", 0.14, 0.58, 0.50, 60, "appstore", "store"),
    ("wechat", 0.16, 0.55, 0.45, 55, "wechat", "social"),
    ("douyin", 0.15, 0.35, 0.28, 25, "douyin", "video"),
    ("xiaohongshu", 0.10, 0.42, 0.36, 40, "xhs", "social"),
    ("baidu_sem", 0.10, 0.30, 0.30, 30, "baidu", "cpc"),
    ("offline_flyer", 0.06, 0.22, 0.25, 20, "flyer", "offline"),
    ("referral", 0.09, 0.70, 0.60, 80, "invite", "referral"),
]
# Share of sessions starting in each local hour: a lunch peak and a larger dinner peak.
HOURLY = np.array([4, 2, 1, 1, 1, 2, 5, 10, 14, 12, 14, 30, 34, 18, 10, 9, 12, 24, 36, 34, 24, 18, 12, 7], float)
WEEKDAY = np.array([0.92, 0.90, 0.93, 0.97, 1.10, 1.22, 1.16])  # Monday … Sunday

CATEGORIES = [
    ("food", "面馆", 38.0), ("drinks", "奶茶", 22.0), ("dessert", "甜品", 30.0), ("grocery", "超市", 65.0),
    ("flowers", "花店", 120.0), ("pharmacy", "药房", 55.0), ("laundry", "洗衣", 45.0), ("beauty", "美甲", 110.0),
]
NAME_PREFIXES = ["老王", "小李", "阿强", "金牌", "鲜味", "好再来", "一品", "街角", "晨光", "福满", "悦来", "绿野"]
CITIES = [("Shanghai", ["Xuhui", "Jing'an", "Pudong", "Changning"]), ("Beijing", ["Chaoyang", "Haidian", "Dongcheng"]),
          ("Guangzhou", ["Tianhe", "Yuexiu"]), ("Shenzhen", ["Nanshan", "Futian"]), ("Hangzhou", ["Xihu", "Binjiang"]),
          ("Chengdu", ["Jinjiang", "Wuhou"])]


@dataclass(frozen=True)
class DemoResult:
    staff_created: list[str]
    merchants_created: int
    tickets_created: int
    events_generated: int
    events_stored: int
    customers: int
    date_from: date
    date_to: date


def demo_staff_ensure(*, passwords: dict[str, str] | None = None) -> list[str]:
    """One staff member per role, username = role name; the new ones are returned. Their password is
    DEMO_PASSWORD, or ``passwords[username]`` when given (``seed_demo --force`` outside debug: no known password)."""
    existing = set(Staff.objects.filter(username__in=[role.value for role in Role]).values_list("username", flat=True))
    created = []
    for role in Role:
        if role.value in existing:
            continue
        first_name = role.value.replace("_", " ").title()
        password = passwords[role.value] if passwords is not None else DEMO_PASSWORD
        staff_create(username=role.value, password=password, roles=[role], first_name=first_name,
                     last_name="Demo", email=f"{role.value}@demo.ops-platform.local")
        created.append(role.value)
    return created


@dataclass(frozen=True)
class DemoMerchants:
    codes: np.ndarray  # merchant codes of live merchants, most popular first
    popularity: np.ndarray  # probability of each code receiving an order
    basket: np.ndarray  # typical order amount per code
    quality: np.ndarray  # mean rating per code


def demo_merchants_ensure(rng: np.random.Generator, *, count: int) -> tuple[DemoMerchants, int]:
    """``count`` merchants in eight categories and six cities; about 85% live, the rest in the pipeline."""
    owner = Staff.objects.filter(username=Role.MERCHANT_OPS.value).first()
    category_index = rng.integers(0, len(CATEGORIES), count)
    city_index = rng.integers(0, len(CITIES), count)
    district_pick = rng.random(count)
    prefix_index = rng.integers(0, len(NAME_PREFIXES), count)
    stage_pick = rng.random(count)
    stages = np.select([stage_pick < 0.85, stage_pick < 0.89, stage_pick < 0.93, stage_pick < 0.96],
                       [Merchant.Stage.LIVE, Merchant.Stage.SIGNED, Merchant.Stage.NEGOTIATING, Merchant.Stage.LEAD],
                       Merchant.Stage.PAUSED)
    merchants = []
    for i in range(count):
        category, noun, _ = CATEGORIES[category_index[i]]
        city, districts = CITIES[city_index[i]]
        merchants.append(Merchant(
            code=f"M{i + 1:05d}", name=f"{NAME_PREFIXES[prefix_index[i]]}{noun} #{i + 1}", category=category,
            city=city, district=districts[int(district_pick[i] * len(districts))], stage=str(stages[i]), owner=owner,
        ))
    before = Merchant.objects.count()
    Merchant.objects.bulk_create(merchants, batch_size=1000, ignore_conflicts=True)
    created = Merchant.objects.count() - before

    live = np.flatnonzero(stages == Merchant.Stage.LIVE)
    weights = 1.0 / np.arange(1, len(live) + 1) ** 0.8  # a few merchants take a large share of orders
    weights /= weights.sum()
    basket = np.array([CATEGORIES[c][2] for c in category_index[live]]) * rng.uniform(0.7, 1.4, len(live))
    quality = np.clip(rng.normal(4.3, 0.45, len(live)), 2.6, 4.95)
    codes = np.array([f"M{i + 1:05d}" for i in live])
    return DemoMerchants(codes=codes, popularity=weights, basket=basket, quality=quality), created


def _group_positions(counts: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid end to end: each element's position within its group (0, 1, …)."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(counts.sum()) - starts


def demo_events_frame(rng: np.random.Generator, *, customers: int, days: int, end: date,
                      merchants: DemoMerchants) -> pd.DataFrame:
    """The event stream as a frame: uuid, event, distinct_id, ts (UTC ns), properties; sorted by time."""
    first_day_start = local_day_start(end - timedelta(days=days - 1))
    period_end = first_day_start + timedelta(days=days)
    origin = np.datetime64(first_day_start.astimezone(UTC).replace(tzinfo=None), "s")
    first_weekday = (end - timedelta(days=days - 1)).weekday()
    day_weekday = (first_weekday + np.arange(days + 400)) % 7

    share = np.array([c[1] for c in CHANNELS])
    signup_rate = np.array([c[2] for c in CHANNELS])
    propensity = np.array([c[3] for c in CHANNELS])
    lifetime_mean = np.array([c[4] for c in CHANNELS], float)

    # Customers: channel, arrival day (growing ~40% over the period, weekend-heavy), engagement.
    channel = rng.choice(len(CHANNELS), customers, p=share / share.sum())
    arrival_weight = (1 + 0.4 * np.arange(days) / max(days - 1, 1)) * WEEKDAY[day_weekday[:days]]
    arrival = rng.choice(days, customers, p=arrival_weight / arrival_weight.sum())
    signed = rng.random(customers) < signup_rate[channel]
    engagement = rng.gamma(2.0, 0.5, customers)  # mean 1: some customers are far more active than others
    lifetime = rng.exponential(lifetime_mean[channel] * engagement)
    visits_per_week = 0.5 + 2.8 * engagement * propensity[channel]

    # Sessions: the first on the arrival day, the next ones at least a day apart until the customer churns.
    expected = np.minimum(lifetime, days - arrival) * visits_per_week / 7
    n_sessions = 1 + rng.poisson(expected)
    n_sessions = np.minimum(n_sessions, 1 + (days - arrival))
    owner = np.repeat(np.arange(customers), n_sessions)
    position = _group_positions(n_sessions)
    gap = np.where(position == 0, 0, 1 + np.floor(rng.exponential(7 / np.repeat(visits_per_week, n_sessions))))
    day = arrival[owner] + (np.cumsum(gap) - np.repeat(np.cumsum(gap)[np.cumsum(n_sessions) - n_sessions],
                                                        n_sessions)).astype(int)
    keep = day < days
    owner, position, day = owner[keep], position[keep], day[keep]
    hour = rng.choice(24, owner.size, p=HOURLY / HOURLY.sum())
    start = origin + (day * 86400 + hour * 3600 + rng.integers(0, 3600, owner.size)).astype("timedelta64[s]")
    weekend_boost = WEEKDAY[day_weekday[day]]

    n = owner.size
    is_first = position == 0
    ch = channel[owner]
    can_order = signed[owner]
    order_p = np.clip(propensity[ch] * (0.35 + 0.5 * engagement[owner]) * weekend_boost, 0, 0.92)
    orders = can_order & (rng.random(n) < order_p)
    view = orders | (rng.random(n) < 0.72)
    cart = orders | (view & (rng.random(n) < 0.28))

    frames = []
    distinct = np.char.add("u", np.char.zfill(np.arange(customers).astype(str), 6))

    def add(mask: np.ndarray, name: str, offset_seconds: np.ndarray, props: list[dict] | None) -> np.ndarray:
        ts = start[mask] + offset_seconds.astype("timedelta64[s]")
        frames.append(pd.DataFrame({"event": name, "distinct_id": distinct[owner[mask]], "ts": ts,
                                    "properties": props if props is not None else [{}] * int(mask.sum())}))
        return ts

    # visit: the first carries the acquisition channel and its UTM fields; returning visits are direct.
    channel_names = [c[0] for c in CHANNELS]
    utm = {c[0]: (c[5], c[6]) for c in CHANNELS}
    campaign = np.where(rng.random(n) < 0.5, "always_on", "autumn_push")
    visit_props = [
        {"channel": channel_names[c], "utm_source": utm[channel_names[c]][0], "utm_medium": utm[channel_names[c]][1],
         "utm_campaign": str(camp) if utm[channel_names[c]][0] else ""} if first else {"channel": "direct"}
        for c, first, camp in zip(ch, is_first, campaign, strict=True)
    ]
    add(np.ones(n, bool), "visit", np.zeros(n), visit_props)

    # signup: in the first session; referred customers name an earlier customer who signed up as referrer.
    signup_mask = is_first & can_order
    signup_offset = rng.integers(40, 600, n)
    signup_owner = owner[signup_mask]
    referrer = _referrers(rng, signup_owner, channel, arrival, channel_names.index("referral"), distinct)
    add(signup_mask, "signup", signup_offset[signup_mask],
        [{"referrer": r} if r else {} for r in referrer])

    merchant_pick = rng.choice(merchants.codes.size, n, p=merchants.popularity)
    base = np.where(signup_mask, signup_offset, 0)
    view_offset = base + rng.integers(20, 300, n)
    add(view, "view_merchant", view_offset[view], [{"merchant_id": m} for m in merchants.codes[merchant_pick[view]]])
    cart_offset = view_offset + rng.integers(30, 420, n)
    add(cart, "add_to_cart", cart_offset[cart], [{"merchant_id": m} for m in merchants.codes[merchant_pick[cart]]])

    # order_paid → order_received (most) → review (some); coupons on a share of first and win-back orders.
    paid_offset = cart_offset + rng.integers(30, 600, n)
    amount = np.round(merchants.basket[merchant_pick] * rng.lognormal(0, 0.35, n), 2)
    order_ids = np.char.add("o", np.arange(n).astype(str))
    coupon = np.where(rng.random(n) < 0.12, np.where(position < 3, "NEW10", "BACK15"), "")
    order_props = [
        {"order_id": oid, "amount": float(amt), "merchant_id": m, **({"coupon_code": cc} if cc else {})}
        for oid, amt, m, cc in zip(order_ids[orders], amount[orders], merchants.codes[merchant_pick[orders]],
                                   coupon[orders], strict=True)
    ]
    add(orders, "order_paid", paid_offset[orders], order_props)
    received = orders & (rng.random(n) < 0.95)
    received_offset = paid_offset + rng.integers(1200, 3600, n)
    add(received, "order_received", received_offset[received], [{"order_id": oid} for oid in order_ids[received]])
    reviewed = received & (rng.random(n) < 0.32)
    rating = np.clip(np.rint(rng.normal(merchants.quality[merchant_pick], 0.8)), 1, 5).astype(int)
    add(reviewed, "review", (received_offset + rng.integers(600, 86400, n))[reviewed],
        [{"order_id": oid, "merchant_id": m, "rating": int(r)} for oid, m, r in
         zip(order_ids[reviewed], merchants.codes[merchant_pick[reviewed]], rating[reviewed], strict=True)])

    events = pd.concat(frames, ignore_index=True)
    period_end_utc = np.datetime64(period_end.astimezone(UTC).replace(tzinfo=None), "s")
    events = events[events["ts"] < period_end_utc].sort_values(["ts", "event"], kind="stable").reset_index(drop=True)
    events["uuid"] = _uuids(rng, len(events))
    return events


ANONYMOUS_SHARE = 0.35  # of the customers who sign up: browsed under a cookie id before (identity, README)


def demo_anonymous_browsing(rng: np.random.Generator, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Link]]:
    """A share of the customers who sign up browse anonymously first: their events before their first sign-up carry
    a cookie id, and the sign-up comes with an identify linking it to the customer (applied after the load, as a late
    identify). Once linked, every report counts them as before, with the anonymous visit's channel."""
    signups = frame[frame["event"] == "signup"].groupby("distinct_id")["ts"].min()
    chosen = signups[rng.random(len(signups)) < ANONYMOUS_SHARE]
    if chosen.empty:
        return frame, []
    cookie = pd.Series(["ck-" + uuid.UUID(bytes=rng.bytes(16), version=4).hex[:16] for _ in range(len(chosen))],
                       index=chosen.index)
    signup_at = frame["distinct_id"].map(chosen)
    before = signup_at.notna() & (frame["ts"] < signup_at)
    frame = frame.copy()
    frame.loc[before, "distinct_id"] = frame.loc[before, "distinct_id"].map(cookie)
    return frame, [Link(anonymous_id=cookie[who], known_id=who) for who in chosen.index]


def _uuids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    raw = rng.bytes(16 * count)
    return [uuid.UUID(bytes=raw[i:i + 16], version=4) for i in range(0, 16 * count, 16)]


def _referrers(rng: np.random.Generator, signup_owner: np.ndarray, channel: np.ndarray, arrival: np.ndarray,
               referral_channel: int, distinct: np.ndarray) -> list[str]:
    """A referrer for each referred sign-up: a customer who signed up on an earlier day, popular ones more often."""
    referrer = np.full(signup_owner.size, "", dtype=object)
    order = np.argsort(arrival[signup_owner], kind="stable")
    arrival_sorted = arrival[signup_owner][order]
    referred = np.flatnonzero(channel[signup_owner[order]] == referral_channel)
    earlier = np.searchsorted(arrival_sorted, arrival_sorted[referred], side="left")  # signed up on an earlier day
    has_pool = earlier > 0
    # u**2 leans towards the first customers: early adopters bring more friends.
    pick = (rng.random(referred.size) ** 2 * earlier).astype(int)
    chosen = signup_owner[order][pick[has_pool]]
    referrer[order[referred[has_pool]]] = distinct[chosen]
    return list(referrer)


def _rows(frame: pd.DataFrame) -> list[EventRow]:
    timestamps = pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").dt.to_pydatetime()
    return [EventRow(uuid=u, event=e, distinct_id=d, timestamp=t, properties=p)
            for u, e, d, t, p in zip(frame["uuid"], frame["event"], frame["distinct_id"], timestamps,
                                     frame["properties"], strict=True)]


def _aarrr_ensure(*, date_from: date, date_to: date) -> None:
    """The AARRR rows the goals are measured on, computed once (a rerun finds them and stores nothing new)."""
    if not aarrr_daily_list(date_from=date_to, date_to=date_to).exists():
        metrics_run_execute(date_from=date_from, date_to=date_to, trigger=MetricsRun.Trigger.BACKFILL)


def demo_seed(*, customers: int = 20_000, days: int = 90, seed: int = 42, end: date | None = None,
              merchants: int = 240, progress: Callable[[int, int], None] | None = None,
              passwords: dict[str, str] | None = None) -> DemoResult:
    """Create the demo data set (see the module docstring). ``progress(done, total)`` is called as events load;
    ``passwords`` (username → password) replaces DEMO_PASSWORD for the staff accounts it creates."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1.")
    end = end or timezone.localdate() - timedelta(days=1)
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        staff_created = demo_staff_ensure(passwords=passwords)
        demo_merchant_set, merchants_created = demo_merchants_ensure(rng, count=merchants)
    frame = demo_events_frame(rng, customers=customers, days=days, end=end, merchants=demo_merchant_set)
    frame = demo_product_events(rng, frame, end=end)  # launches' real effects, some badly tracked events
    frame, links = demo_anonymous_browsing(np.random.default_rng(seed + 7), frame)
    total, stored = len(frame), 0
    if progress:
        progress(0, total)
    for chunk_start in range(0, total, LOAD_CHUNK):
        chunk = frame.iloc[chunk_start:chunk_start + LOAD_CHUNK]
        stored += events_load(_rows(chunk)).inserted
        if progress:
            progress(min(chunk_start + LOAD_CHUNK, total), total)
    identities_link(links)  # late identify: the anonymous visits were stored under their own ids first
    with transaction.atomic():
        tickets_created = demo_product_loop_ensure(end=end)  # after the events: checks and impact read them
    coupon_orders = demo_user_ops_ensure(end=end, seed=seed, merchants=[str(c) for c in demo_merchant_set.codes[:20]])
    merchants_demo_ensure(end=end, days=days, seed=seed)  # pipeline, log, metrics and tiers from the events, …
    _aarrr_ensure(date_from=max(end - timedelta(days=days - 1), period_start_of(kind=QUARTER, day=end)), date_to=end)
    demo_goals_ensure(end=end, seed=seed)  # teams, goals at every level with their progress history
    demo_desk_ensure(end=end)  # last: teams if missing, the night's alerts and last week's digests read everything
    return DemoResult(
        staff_created=staff_created, merchants_created=merchants_created, tickets_created=tickets_created,
        events_generated=total + coupon_orders[0], events_stored=stored + coupon_orders[1],
        customers=int(frame["distinct_id"].nunique()) - len(links),
        date_from=end - timedelta(days=days - 1), date_to=end,
    )
