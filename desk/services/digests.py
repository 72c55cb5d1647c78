"""The weekly digest per team: a snapshot of the week (goals with pace, movements, alerts), readable in-app,
downloadable as XLSX and e-mailed to each member in their own language.

A digest is stored once per (team, week) (unique) and e-mailed once per member: each e-mail that goes out is
recorded at once as a DigestDelivery (unique per digest and member, committed right after the send), so a retry
after a failure half-way skips the members already served; ``emailed_at`` is set when every member has theirs.
Only weeks that have ended are sent. The content keeps codes (metric, level, pace, kinds) and numbers, never
translated text: labels are made when a reader's page, e-mail or workbook is rendered, in their language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from desk import selectors as desk_selectors
from desk.models import Alert, Digest, DigestDelivery
from goals import selectors as goal_selectors
from goals.models import Goal, Metric, Team
from merchants import selectors as merchant_selectors
from merchants.models import Tier
from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.exports import DATE, NUMBER, PERCENT, Column, ExportTable, Report
from products import selectors as product_selectors
from products.models import Ticket
from users import selectors as user_selectors
from users.models import Stage

TOP_CHANNELS = 5
def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week(today: date | None = None) -> date:
    """The Monday of the last complete week before ``today``."""
    return week_monday(today or timezone.localdate()) - timedelta(days=7)


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(inner) for inner in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _goals(team: Team, week: date, week_end: date) -> list[dict]:
    """The team's goals whose period overlaps the week (a month ending mid-week included), each measured at the
    end of its period or of the week, whichever comes first. Codes only: labels are made when rendering."""
    keys = ("id", "title", "level", "metric", "period_start", "period_end", "target", "value", "progress",
            "expected", "pace", "url")
    goals = goal_selectors.team_goals_in_range(team=team, date_from=week, date_to=week_end)
    return [{key: goal.get(key) for key in keys} for goal in goals]


def _customer_stages(week: date, week_end: date) -> list[dict]:
    """Customers per life-cycle stage at the first and the last snapshot from the eve of the week to its end (one
    query); empty when no refresh stored a snapshot then."""
    series = user_selectors.stage_daily_series(date_from=week - timedelta(days=1), date_to=week_end)
    if not series["dates"]:
        return []
    return [{"stage": stage, "start": values[0], "end": values[-1], "start_day": series["dates"][0],
             "end_day": series["dates"][-1]} for stage, values in series["stages"].items()]


def _tickets(week: date, week_end: date) -> dict:
    return {"launched": product_selectors.launches_in_range(date_from=week, date_to=week_end),
            "concluded": product_selectors.tickets_concluded_in_range(date_from=week, date_to=week_end)}


def _channels(week: date, week_end: date) -> list[dict]:
    rows = user_selectors.channel_quality(date_from=week, date_to=week_end)["channels"]
    keys = ("rank", "channel", "visitors", "signups", "buyers", "activation_rate", "repeat_rate", "cac", "roi")
    return [{key: row.get(key) for key in keys} for row in rows if row["visitors"]][:TOP_CHANNELS]


def digest_content(*, team: Team, week: date) -> dict:
    """The week's snapshot for the team, as JSON-ready data (codes and numbers, no translated text)."""
    week = week_monday(week)
    week_end = week + timedelta(days=6)
    return _jsonable({
        "team": {"id": team.pk, "name": team.name, "kind": team.kind},
        "week_start": week, "week_end": week_end,
        "goals": _goals(team, week, week_end),
        "merchants": merchant_selectors.tier_moves_report(date_from=week, date_to=week_end),
        "customers": _customer_stages(week, week_end),
        "tickets": _tickets(week, week_end),
        "channels": _channels(week, week_end),
        "alerts": desk_selectors.team_alerts_in_range(team=team, date_from=week, date_to=week_end),
    })


def digest_build(*, team: Team, week: date, rebuild: bool = False) -> tuple[Digest, bool]:
    """The team's digest for the week holding ``week``: stored once (unique per team and week); ``rebuild``
    refreshes the snapshot of a digest not yet e-mailed. Returns (digest, created)."""
    week = week_monday(week)
    with transaction.atomic():
        digest, created = Digest.objects.select_for_update().get_or_create(
            team=team, week=week, defaults={"content": {}})
        if created or (rebuild and digest.emailed_at is None):
            digest.content = digest_content(team=team, week=week)
            digest.save(update_fields=["content"])
    return digest, created


# Rendering (in the active language)


def _members_with_mail(team: Team) -> list:
    return [m.user for m in goal_selectors.team_members(team=team) if m.user.email and m.user.is_active]


def digest_context(digest: Digest) -> dict:
    """What the page, the e-mail and the XLSX show, with labels in the active language."""
    content = digest.content or {}
    tiers = dict(Tier.choices)
    moves = [{**move, "from_label": str(tiers.get(move["from_tier"], move["from_tier"] or "—")),
              "to_label": str(tiers.get(move["to_tier"], move["to_tier"]))}
             for move in content.get("merchants", {}).get("moves", [])]
    alerts = [{**alert, "title": Alert(kind=alert["kind"], params=alert["params"]).title,
               "message": Alert(kind=alert["kind"], params=alert["params"]).message}
              for alert in content.get("alerts", [])]
    pace_labels = {"ahead": _("ahead"), "on_track": _("on track"), "behind": _("behind"),
                   "pending": _("not judged yet")}
    metrics, levels = dict(Metric.choices), dict(Goal.Level.choices)
    goals = [{**goal, "pace_label": pace_labels.get(goal.get("pace"), goal.get("pace") or ""),
              "metric_label": str(metrics.get(goal.get("metric"), goal.get("metric_label") or goal.get("metric"))),
              "level_label": str(levels.get(goal.get("level"), goal.get("level") or ""))}
             for goal in content.get("goals", [])]
    stage_labels = dict(Stage.choices)
    customers = [{**row, "label": str(stage_labels.get(row["stage"], row["stage"])),
                  "change": row["end"] - row["start"]} for row in content.get("customers", [])]
    outcomes = dict(Ticket.Outcome.choices)
    tickets = content.get("tickets", {})
    tickets = {"launched": tickets.get("launched", []),
               "concluded": [{**t, "outcome_label": str(outcomes.get(t.get("outcome"), t.get("outcome") or ""))}
                             for t in tickets.get("concluded", [])]}
    return {"digest": digest, "content": content, "goals": goals, "moves": moves, "alerts": alerts,
            "customers": customers, "merchants": content.get("merchants", {}), "tickets": tickets,
            "channels": content.get("channels", []),
            "site_url": settings.SITE_URL,
            "url": reverse("desk:digest", args=[digest.pk])}


def digest_email(*, digest: Digest, member) -> EmailMultiAlternatives:
    """The digest as an e-mail (text and HTML) in the member's language."""
    language = member.language or settings.LANGUAGE_CODE
    with translation.override(language):
        # render_to_string runs no context processor: the e-mail's <html lang> needs the language given
        context = {**digest_context(digest), "member": member, "LANGUAGE_CODE": translation.get_language()}
        subject = _("Weekly digest: %(team)s, week of %(week)s") % {"team": digest.team.name,
                                                                     "week": digest.week.isoformat()}
        text = render_to_string("desk/digest_email.txt", context)
        html = render_to_string("desk/digest_email.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[member.email])
    message.attach_alternative(html, "text/html")
    return message


@dataclass
class DigestsResult:
    week: date
    built: int = 0
    emailed: int = 0
    messages: int = 0
    skipped: list[str] = field(default_factory=list)


def _digest_deliver(*, digest: Digest, member) -> bool:
    """E-mail the digest to one member unless they already have it; the delivery row is committed right after the
    send, under the digest's row lock (two workers never both send to the same member). True if sent."""
    with transaction.atomic():
        Digest.objects.select_for_update().only("pk").get(pk=digest.pk)
        if DigestDelivery.objects.filter(digest=digest, user=member).exists():
            return False
        digest_email(digest=digest, member=member).send()
        DigestDelivery.objects.create(digest=digest, user=member, email=member.email)
    return True


def digest_week_check(week: date, today: date | None = None) -> None:
    """Only a week that has ended (its Sunday is past) is sent: a digest of a week still running would be partial,
    and once marked e-mailed it is never sent again."""
    today = today or timezone.localdate()
    if week + timedelta(days=6) >= today:
        raise ApplicationError(
            _("The week of %(week)s has not ended yet: its digest can be sent from %(day)s.")
            % {"week": week.isoformat(), "day": (week + timedelta(days=7)).isoformat()}, code="week_not_ended")


def digests_send(*, week: date | None = None, dry_run: bool = False) -> DigestsResult:
    """Build every team's digest for the week (last complete week by default) and e-mail each member once.

    A week that has not ended yet is refused (ApplicationError). A send that fails half-way raises (the task
    retries): members already served are recorded and skipped on the retry; ``emailed_at`` is set once every
    member has it. ``dry_run`` builds nothing and sends nothing; it reports what would be sent."""
    week = week_monday(week) if week else last_complete_week()
    digest_week_check(week)
    result = DigestsResult(week=week)
    for team in goal_selectors.team_list():
        members = _members_with_mail(team)
        if dry_run:
            existing = Digest.objects.filter(team=team, week=week).first()
            if existing is None or existing.emailed_at is None:
                delivered = (set(existing.deliveries.values_list("user_id", flat=True)) if existing else set())
                result.messages += len([m for m in members if m.pk not in delivered])
                result.emailed += 1
            else:
                result.skipped.append(team.name)
            continue
        digest, created = digest_build(team=team, week=week)
        result.built += int(created)
        digest = Digest.objects.select_related("team").get(pk=digest.pk)
        if digest.emailed_at is not None:
            result.skipped.append(team.name)
            continue
        sent = sum(_digest_deliver(digest=digest, member=member) for member in members)
        with transaction.atomic():
            locked = Digest.objects.select_for_update().get(pk=digest.pk)
            if locked.emailed_at is None:
                locked.emailed_at = timezone.now()
                locked.emailed_to = locked.deliveries.count()
                locked.save(update_fields=["emailed_at", "emailed_to"])
        result.emailed += 1
        result.messages += sent
    return result


def digest_xlsx(*, digest: Digest) -> bytes:
    return exports.xlsx_bytes(digest_report(digest=digest))


def digest_report(*, digest: Digest) -> Report:
    """The digest as a report for the export writer, a sheet per section (formatted header, typed cells, formulas in
    titles and names neutralised), labels in the current language."""
    context = digest_context(digest)

    def table(title, columns, rows) -> ExportTable:
        return ExportTable(title=title, columns=[Column(f"c{i}", label, kind) for i, (label, kind) in
                                                 enumerate(columns)], rows=rows)

    text = "text"
    tables = [
        table(_("Goals"), [(_("Goal"), text), (_("Level"), text), (_("Metric"), text), (_("Target"), NUMBER),
                           (_("Value"), NUMBER), (_("Progress"), PERCENT), (_("Pace"), text)],
              [[g.get("title"), g.get("level_label"), g.get("metric_label"), g.get("target"), g.get("value"),
                g.get("progress"), g.get("pace_label")] for g in context["goals"]]),
        table(_("Merchants"), [(_("Merchant"), text), (_("Name"), text), (_("From"), text), (_("To"), text)],
              [[m["code"], m["name"], m["from_label"], m["to_label"]] for m in context["moves"]]),
        table(_("Customers"), [(_("Stage"), text), (_("Start of week"), NUMBER), (_("End of week"), NUMBER),
                               (_("Change"), NUMBER)],
              [[c["label"], c["start"], c["end"], c["change"]] for c in context["customers"]]),
        table(_("Tickets"), [(_("Ticket"), text), (_("Title"), text), (_("Event"), text), (_("Date"), DATE),
                             (_("Outcome"), text)],
              [[t["key"], t["title"], _("launched"), t["date"], ""] for t in context["tickets"].get("launched", [])]
              + [[t["key"], t["title"], _("concluded"), t["date"], t["outcome_label"]]
                 for t in context["tickets"].get("concluded", [])]),
        table(_("Channels"), [(_("Rank"), NUMBER), (_("Channel"), text), (_("Visitors"), NUMBER),
                              (_("Sign-ups"), NUMBER), (_("Activation rate"), PERCENT), (_("Repeat so far"), PERCENT),
                              (_("ROI"), PERCENT)],
              [[c.get("rank"), c.get("channel"), c.get("visitors"), c.get("signups"), c.get("activation_rate"),
                c.get("repeat_rate"), c.get("roi")] for c in context["channels"]]),
        table(_("Alerts"), [(_("Day"), text), (_("Severity"), text), (_("Alert"), text), (_("Details"), text)],
              [[a["day"], str(dict(Alert.Severity.choices).get(a["severity"], a["severity"])), a["title"],
                a["message"]] for a in context["alerts"]]),
    ]
    return Report(name=f"digest-{digest.team_id}-{digest.week}", tables=tables)
