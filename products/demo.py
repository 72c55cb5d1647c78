"""The product-operations part of the demo data set: tickets in every state with their history, tracking plans
(draft, in review, approved), launches whose effects are really in the events, tracking violations, feedback,
an iteration chain, an impact analysis and a conclusion.

``demo_product_events`` adds the launches' effects and some badly tracked events to the generated stream
(vectorised, from the same seeded generator, so the data set stays reproducible); ``demo_product_loop_ensure``
creates the tickets once the events are stored (so checks and impact analyses read real numbers).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.utils import timezone

from ops_platform.accounts.models import Staff
from ops_platform.core.invites import invite_code_of
from ops_platform.core.periods import local_day_start
from products.models import FeedbackItem, Ticket, TicketComment, TicketTransition, TrackingPlan
from products.services.impact import impact_analysis_create
from products.services.plans import tracking_check_run

WORKFLOW = ["proposed", "triaged", "designing", "in_development", "testing", "ready_to_launch", "launched",
            "analysing", "concluded"]
# Days before ``end`` on which the measured tickets launched.
INVITE_LAUNCH, REORDER_LAUNCH, PHOTOS_LAUNCH = 6, 20, 45

BASELINE_PLAN = [
    {"name": "visit", "description": "A session starts.", "properties": [
        {"name": "channel", "type": "string", "required": True},
        {"name": "utm_source", "type": "string"}, {"name": "utm_medium", "type": "string"},
        {"name": "utm_campaign", "type": "string"}]},
    {"name": "signup", "description": "A customer creates an account.", "properties": [
        {"name": "referrer", "type": "string"}]},
    {"name": "view_merchant", "description": "A merchant page is opened.", "properties": [
        {"name": "merchant_id", "type": "string", "required": True, "pattern": "M[0-9]{5}"}]},
    {"name": "add_to_cart", "description": "An item goes into the cart.", "properties": [
        {"name": "merchant_id", "type": "string", "required": True, "pattern": "M[0-9]{5}"}]},
    {"name": "order_paid", "description": "An order is paid.", "properties": [
        {"name": "order_id", "type": "string", "required": True},
        {"name": "amount", "type": "number", "required": True},
        {"name": "merchant_id", "type": "string", "required": True},
        {"name": "coupon_code", "type": "string", "allowed": ["NEW10", "BACK15"]}]},
    {"name": "order_received", "description": "The customer receives the order.", "properties": [
        {"name": "order_id", "type": "string", "required": True}]},
    {"name": "review", "description": "The customer rates the merchant.", "properties": [
        {"name": "order_id", "type": "string", "required": True},
        {"name": "merchant_id", "type": "string", "required": True},
        {"name": "rating", "type": "integer", "required": True, "allowed": [1, 2, 3, 4, 5]}]},
]
REORDER_PLAN = [
    {"name": "order_paid", "description": "An order, now also from the reorder button.", "properties": [
        {"name": "order_id", "type": "string", "required": True},
        {"name": "amount", "type": "number", "required": True},
        {"name": "merchant_id", "type": "string", "required": True},
        {"name": "coupon_code", "type": "string", "allowed": ["NEW10", "BACK15"]},
        {"name": "reorder", "type": "boolean"},
        {"name": "source", "type": "string", "allowed": ["order_history", "push"]}]},
]
CART_PLAN = [{"name": "add_to_cart", "description": "Now also sent from the merchant page's quick-add button.",
              "properties": [{"name": "merchant_id", "type": "string", "required": True},
                             {"name": "from_page", "type": "string", "allowed": ["merchant", "search"]}]}]
COUPON_PLAN = [{"name": "coupon_shown", "description": "The new-user coupon pack is shown on the sign-up page.",
                "properties": [{"name": "pack", "type": "string", "required": True, "allowed": ["small", "large"]}]},
               {"name": "coupon_claimed", "description": "", "properties": [
                   {"name": "pack", "type": "string", "required": True}]}]

# title, kind, status, priority, requester, stage, metric, expected change, launch (days before end) or None
TICKETS = [
    ("Weekly report of channel CAC for the growth meeting", "data_request", "proposed", 2, "user_ops", "acquisition",
     "", "", None),
    ("Lunch-time push for lapsed customers", "campaign_support", "triaged", 2, "user_ops", "retention",
     "order_rate", "+1 point of visitors ordering", None),
    ("New-user coupon pack on the sign-up page", "campaign_support", "in_development", 3, "user_ops", "activation",
     "signup_rate", "+3 points of visitors signing up", None),
    ("Checkout drops users who have no saved address", "bug", "testing", 4, "product_ops", "revenue",
     "order_rate", "back to the usual order rate", None),
    ("Track add_to_cart from the merchant page", "improvement", "ready_to_launch", 2, "product_ops", "activation",
     "cart_rate", "", None),
    ("Invite-a-friend reward raised to 15 yuan", "improvement", "launched", 3, "user_ops", "referral",
     "signup_rate", "+2 points of visitors signing up", INVITE_LAUNCH),
    ("Reorder button on past orders", "feature", "analysing", 3, "product_ops", "revenue",
     "revenue_per_customer", "+10% revenue per visiting customer", REORDER_LAUNCH),
    ("Merchant photos on the search results", "feature", "concluded", 3, "merchant_ops", "activation",
     "cart_rate", "+1 point of merchant viewers adding to cart", PHOTOS_LAUNCH),
    ("Merchant ratings shown on the search results", "improvement", "designing", 2, "product_ops", "activation",
     "cart_rate", "+1 more point of merchant viewers adding to cart", None),
    ("Tracking baseline: the canonical events", "data_request", "launched", 2, "pm", "", "", "", 88),
    ("Dark mode", "feature", "rejected", 1, "user_ops", "", "", "", None),
    ("Autumn push landing page", "campaign_support", "cancelled", 2, "merchant_ops", "acquisition", "", "", None),
]


def _uuids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    raw = rng.bytes(16 * count)
    return [uuid.UUID(bytes=raw[i:i + 16], version=4) for i in range(0, 16 * count, 16)]


def _utc(day: date) -> np.datetime64:
    start = local_day_start(day)
    return np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "s")


def _inviters(frame: pd.DataFrame, chosen: pd.DataFrame, after: np.ndarray) -> list[str]:
    """The ``referrer`` of each invited sign-up: the invite code of a customer who signed up before the launch
    (drawn from a generator of its own, so the rest of the stream is unchanged); one in 25 comes from an old app
    version that sends the placeholder "invite", which names no one (the referral page counts it as unresolved), and
    the first invited customer enters their own code (a self-referral)."""
    inviters = frame.loc[~after & (frame["event"] == "signup").to_numpy(), "distinct_id"].unique()
    if not len(chosen) or not len(inviters):
        return ["invite"] * len(chosen)
    own = np.random.default_rng(len(inviters) * 7919 + len(chosen))
    picked = inviters[own.integers(0, len(inviters), len(chosen))]
    placeholder = own.random(len(chosen)) < 0.04
    referrers = ["invite" if broken else invite_code_of(str(who))
                 for who, broken in zip(picked, placeholder, strict=True)]
    referrers[0] = invite_code_of(str(chosen["distinct_id"].iloc[0]))  # one enters their own code
    return referrers


def _invite_abuse(frame: pd.DataFrame, after: np.ndarray) -> pd.DataFrame:
    """What the referral fraud signals should catch: the day after the launch one early customer's code brings six
    made-up accounts within half an hour (none ever orders)."""
    inviters = frame.loc[~after & (frame["event"] == "signup").to_numpy(), "distinct_id"].unique()
    if not len(inviters) or not after.any():
        return pd.DataFrame(columns=["event", "distinct_id", "ts", "properties"])
    farmer = str(inviters[0])
    start = frame["ts"].to_numpy()[after].min() + np.timedelta64(86400, "s")
    fakes = [f"{farmer}-x{k}" for k in range(6)]
    moments = [start + np.timedelta64(300 * k, "s") for k in range(6)]
    visit = {"channel": "referral", "utm_source": "invite", "utm_medium": "referral", "utm_campaign": ""}
    rows = [("visit", fake, at, dict(visit)) for fake, at in zip(fakes, moments, strict=True)]
    rows += [("signup", fake, at + np.timedelta64(60, "s"), {"referrer": invite_code_of(farmer)})
             for fake, at in zip(fakes, moments, strict=True)]
    return pd.DataFrame(rows, columns=["event", "distinct_id", "ts", "properties"])


def demo_product_events(rng: np.random.Generator, frame: pd.DataFrame, *, end: date) -> pd.DataFrame:
    """The stream with the launches' effects and some badly tracked events added (no row is changed or dropped)."""
    if frame.empty:
        return frame
    ts = frame["ts"].to_numpy()
    extra = []

    # Invite-a-friend reward (launched): 12% of first-time visitors who never signed up now sign up.
    after = ts >= _utc(end - timedelta(days=INVITE_LAUNCH))
    signed = set(frame.loc[frame["event"] == "signup", "distinct_id"])
    first_visits = frame[after & (frame["event"] == "visit").to_numpy()].drop_duplicates("distinct_id")
    candidates = first_visits[~first_visits["distinct_id"].isin(signed)]
    chosen = candidates[rng.random(len(candidates)) < 0.12]
    extra.append(pd.DataFrame({"event": "signup", "distinct_id": chosen["distinct_id"].to_numpy(),
                               "ts": chosen["ts"].to_numpy() + np.timedelta64(240, "s"),
                               "properties": [{"referrer": r} for r in _inviters(frame, chosen, after)]}))
    extra.append(_invite_abuse(frame, after))

    # Reorder button (analysing): 18% of paid orders after the launch are followed by a reorder a day later,
    # tracked with the new properties; a few are tracked badly.
    after = ts >= _utc(end - timedelta(days=REORDER_LAUNCH))
    paid = frame[after & (frame["event"] == "order_paid").to_numpy()]
    reorders = paid[rng.random(len(paid)) < 0.18]
    props = []
    for i, original in enumerate(reorders["properties"]):
        prop = {"order_id": f"r{i}", "amount": original["amount"], "merchant_id": original["merchant_id"],
                "reorder": True, "source": "order_history"}
        flaw = i % 40  # one in ten reorders is tracked badly, in four ways
        if flaw == 1:
            prop["source"] = "orders_tab"  # value not allowed
        elif flaw == 2:
            prop["amount"] = str(prop["amount"])  # wrong type
        elif flaw == 3:
            del prop["order_id"]  # missing required
        elif flaw == 4:
            prop["reorder"] = "yes"  # wrong type
        props.append(prop)
    extra.append(pd.DataFrame({"event": "order_paid", "distinct_id": reorders["distinct_id"].to_numpy(),
                               "ts": reorders["ts"].to_numpy() + np.timedelta64(86_400, "s"), "properties": props}))

    # Merchant photos (concluded): 7% more merchant views lead to an add_to_cart after the launch.
    start = _utc(end - timedelta(days=PHOTOS_LAUNCH))
    views = frame[(ts >= start) & (frame["event"] == "view_merchant").to_numpy()]
    carts = views[rng.random(len(views)) < 0.07]
    extra.append(pd.DataFrame({"event": "add_to_cart", "distinct_id": carts["distinct_id"].to_numpy(),
                               "ts": carts["ts"].to_numpy() + np.timedelta64(90, "s"),
                               "properties": list(carts["properties"])}))

    # Noise no plan defines: a share button the app started sending, and visits with an untracked utm_content.
    recent = frame[(ts >= _utc(end - timedelta(days=10))) & (frame["event"] == "visit").to_numpy()]
    shares = recent[rng.random(len(recent)) < 0.02]
    extra.append(pd.DataFrame({"event": "share_click", "distinct_id": shares["distinct_id"].to_numpy(),
                               "ts": shares["ts"].to_numpy() + np.timedelta64(30, "s"),
                               "properties": [{"target": "wechat"} for _ in range(len(shares))]}))
    tagged = recent[rng.random(len(recent)) < 0.01]
    extra.append(pd.DataFrame({"event": "visit", "distinct_id": tagged["distinct_id"].to_numpy(),
                               "ts": tagged["ts"].to_numpy() + np.timedelta64(3600, "s"),
                               "properties": [{"channel": "direct", "utm_content": "banner_b"}
                                              for _ in range(len(tagged))]}))

    added = pd.concat(extra, ignore_index=True)
    period_end = _utc(end + timedelta(days=1))
    added = added[added["ts"] < period_end].sort_values(["ts", "event"], kind="stable").reset_index(drop=True)
    added["uuid"] = _uuids(rng, len(added))
    return pd.concat([frame, added], ignore_index=True)


def _at(end: date, days_before: float, hour: int = 10) -> datetime:
    day = end - timedelta(days=int(days_before))
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def _plan(ticket: Ticket, version: int, events: list[dict], status: str, people: dict, comment: str = "") -> None:
    from products.tracking import plan_events_clean

    TrackingPlan.objects.create(ticket=ticket, version=version, events=plan_events_clean(events), status=status,
                                author=people.get("pm"), review_comment=comment,
                                reviewer=people.get("analyst") if status in ("approved", "changes_requested") else None,
                                reviewed_at=timezone.now() if status in ("approved", "changes_requested") else None)


def demo_product_loop_ensure(*, end: date) -> int:
    """Create the demo tickets and everything around them, once (nothing when tickets exist). Returns the count."""
    if Ticket.objects.exists():
        return 0
    people = {staff.username: staff for staff in Staff.objects.filter(
        username__in=["merchant_ops", "user_ops", "product_ops", "pm", "analyst", "admin"])}
    pm, analyst = people.get("pm"), people.get("analyst")
    tickets: dict[str, Ticket] = {}
    for i, (title, kind, status, priority, requester, stage, metric, change, launch) in enumerate(TICKETS):
        filed = _at(end, (launch or 30) + 25 - i)
        ticket = Ticket.objects.create(
            title=title, kind=kind, status=status, priority=priority, requester=people.get(requester),
            owner_pm=pm, aarrr_stage=stage, target_metric=metric, expected_change=change,
            description=f"Raised by {requester.replace('_', ' ')}.\n\n**Why:** {change or 'see the discussion'}.",
            due_date=end + timedelta(days=7 * (i % 6) - 14) if status not in ("rejected", "cancelled") else None,
            launched_at=_at(end, launch) if launch else None, labels=["demo", stage] if stage else ["demo"],
            rejection_reason="Not a priority for this quarter's growth goals." if status == "rejected" else "",
            version=1 + (WORKFLOW.index(status) if status in WORKFLOW else 1))
        Ticket.objects.filter(pk=ticket.pk).update(created_at=filed)
        ticket.watchers.set([p for p in (people.get(requester), pm) if p])
        path = WORKFLOW[:WORKFLOW.index(status) + 1] if status in WORKFLOW else ["proposed", status]
        moves = [TicketTransition(ticket=ticket, actor=people.get(requester), from_status="",
                                  to_status="proposed")]
        for frm, to in zip(path, path[1:], strict=False):
            actor = analyst if to == "concluded" else pm
            moves.append(TicketTransition(ticket=ticket, actor=actor, from_status=frm, to_status=to))
        TicketTransition.objects.bulk_create(moves)
        # A believable timeline: filing, then the moves up to the launch spread evenly, later moves after it.
        launched = ticket.launched_at or _at(end, 1)
        before_launch = [m for m in moves if WORKFLOW.index(m.to_status) <= WORKFLOW.index("launched")] \
            if status in WORKFLOW else moves
        for k, m in enumerate(before_launch):
            m.created_at = filed + (launched - filed) * (k / max(len(before_launch) - 1, 1))
        for k, m in enumerate(moves[len(before_launch):], start=1):
            m.created_at = launched + timedelta(days=3 * k)
        TicketTransition.objects.bulk_update(moves, ["created_at"])
        tickets[title] = ticket

    t = tickets
    _plan(t["Tracking baseline: the canonical events"], 1, BASELINE_PLAN, "approved", people)
    _plan(t["Reorder button on past orders"], 1, REORDER_PLAN, "approved", people)
    _plan(t["Track add_to_cart from the merchant page"], 1, CART_PLAN[:1], "changes_requested", people,
          "from_page must be restricted to the pages we have.")
    _plan(t["Track add_to_cart from the merchant page"], 2, CART_PLAN, "approved", people)
    _plan(t["Checkout drops users who have no saved address"], 1, BASELINE_PLAN[4:5], "in_review", people)
    _plan(t["New-user coupon pack on the sign-up page"], 1, COUPON_PLAN, "draft", people)
    _plan(t["Merchant photos on the search results"], 1, BASELINE_PLAN[2:4], "approved", people)
    _plan(t["Invite-a-friend reward raised to 15 yuan"], 1, BASELINE_PLAN[1:2], "approved", people)

    photos = t["Merchant photos on the search results"]
    t["Merchant ratings shown on the search results"].parent = photos
    t["Merchant ratings shown on the search results"].save(update_fields=["parent"])
    if analyst is not None:
        for title, window in (("Merchant photos on the search results", 14), ("Reorder button on past orders", 14),
                              ("Invite-a-friend reward raised to 15 yuan", 6)):
            if t[title].launched_at and timezone.localdate(t[title].launched_at) + timedelta(days=window) \
                    <= timezone.localdate():
                # Measured while it was being analysed: a concluded ticket is frozen, so conclude it again after.
                status = t[title].status
                Ticket.objects.filter(pk=t[title].pk).update(status=Ticket.Status.ANALYSING)
                impact_analysis_create(ticket_id=t[title].pk, actor=analyst, window_days=window, conclusion=(
                    "Add-to-cart rate is up and significant; photos stay. Next: show ratings too."
                    if title.startswith("Merchant photos") else ""))
                Ticket.objects.filter(pk=t[title].pk).update(status=status)
        Ticket.objects.filter(pk=photos.pk).update(
            outcome="success", concluded_at=_at(end, PHOTOS_LAUNCH - 20),
            analysis_summary="Merchant viewers add to cart more often since the photos; the lift is significant.")
        for title in ("Reorder button on past orders", "Tracking baseline: the canonical events"):
            tracking_check_run(ticket_id=t[title].pk, actor=analyst, date_from=end - timedelta(days=13), date_to=end)

    feedback = [
        ("customer", "u000123", "A coupon when I sign up would make me try the app.", "request",
         "New-user coupon pack on the sign-up page"),
        ("customer", "u000456", "Friends asked me for an invite code, the reward is too small.", "request",
         "Invite-a-friend reward raised to 15 yuan"),
        ("merchant", "M00003", "New customers never find us; can you give them a first-order voucher?", "request",
         "New-user coupon pack on the sign-up page"),
        ("customer", "u000789", "I order the same noodles every week, let me repeat the order.", "request",
         "Reorder button on past orders"),
        ("customer", "u001024", "Checkout fails when I have no address saved.", "bug",
         "Checkout drops users who have no saved address"),
        ("merchant", "M00011", "Our dishes look better than the text says: show photos.", "request",
         "Merchant photos on the search results"),
        ("customer", "u002048", "Please add a dark mode.", "request", "Dark mode"),
        ("customer", "u004096", "New user here, is there a welcome discount?", "request",
         "New-user coupon pack on the sign-up page"),
        ("merchant", "M00020", "Ratings next to our name would help good shops.", "request",
         "Merchant ratings shown on the search results"),
        ("customer", "u008192", "Delivery was late twice this week.", "complaint", None),
        ("merchant", "M00042", "The onboarding form asks for the licence twice.", "complaint", None),
    ]
    items = [FeedbackItem(source=src, who=who, text=text, category=cat, ticket=t.get(title) if title else None,
                          created_by=people.get("product_ops"), triaged_at=timezone.now() if title else None)
             for src, who, text, cat, title in feedback]
    FeedbackItem.objects.bulk_create(items)
    for ticket in t.values():
        Ticket.objects.filter(pk=ticket.pk).update(feedback_count=ticket.feedback.count())

    comment = TicketComment.objects.create(
        ticket=t["Reorder button on past orders"], author=pm,
        body="@analyst the button is live since the launch; can you check the revenue per customer?")
    if analyst is not None:
        comment.mentions.set([analyst])
        t["Reorder button on past orders"].watchers.add(analyst)
    TicketComment.objects.create(ticket=t["New-user coupon pack on the sign-up page"], author=people.get("user_ops"),
                                 body="Three merchants asked for this too (see the feedback).")
    return len(tickets)
