"""Subscriptions: an insight or a dashboard e-mailed on a schedule, to each reader in their own language, with the
figures in the body and the data as XLSX.

Beat asks every few minutes for the subscriptions that are due (``subscriptions_due``): each due slot becomes one
``SubscriptionRun`` (unique per subscription and slot, so a doubled or retried tick makes one run) and a task
that sends it. Each e-mail is recorded as a ``SubscriptionDelivery`` under the run's row lock and committed right
after it went out, so a run retried after a failure half-way skips the readers already served: an e-mail is never
sent twice. Each reader gets only the tiles they may read (an insight's visibility and its report's area).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from goals import selectors as goal_selectors
from insights.models import Dashboard, Insight, Subscription, SubscriptionDelivery, SubscriptionRun
from insights.presenters import present
from insights.selectors import (
    dashboard_get,
    dashboard_tiles,
    insight_get,
    insight_query,
    insight_visible_to,
    subscription_can_change,
)
from insights.services.insights import _check_range, insight_answer_check
from insights.services.results import Evaluated, refused_evaluated, report_result
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.reports import report_kind
from ops_platform.core.roles import Role, roles_of

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="3B6FD8")
NUMBER_FORMATS = {"int": "#,##0", "money": "#,##0.00", "percent": "0.0%", "float": "#,##0.00"}
ROWS_IN_BODY = 10
MAX_RECIPIENTS = 200


def next_run_after(*, frequency: str, weekday: int, at: time, after: datetime) -> datetime:
    """The first scheduled moment strictly after ``after``: daily at ``at``, or weekly on ``weekday`` (0 = Monday)
    at ``at``, in TIME_ZONE."""
    local = timezone.localtime(after)
    day = local.date()
    for offset in range(8):
        candidate_day = day + timedelta(days=offset)
        if frequency == Subscription.Frequency.WEEKLY and candidate_day.weekday() != weekday:
            continue
        candidate = timezone.make_aware(datetime.combine(candidate_day, at), timezone.get_current_timezone())
        if candidate > after:
            return candidate
    raise ValueError("no slot within a week")  # unreachable: a week always holds the weekday


def _target(*, user, insight_id, dashboard_id) -> tuple[Insight | None, Dashboard | None]:
    if bool(insight_id) == bool(dashboard_id):
        raise ApplicationError(_("Subscribe to one insight or one dashboard."), errors={
            "insight": [_("Give an insight or a dashboard, not both.")]})
    if insight_id:
        insight = insight_get(user=user, insight_id=insight_id)
        if insight is None:
            raise ApplicationError(_("No such insight."), errors={"insight": [_("Choose one you read.")]})
        return insight, None
    dashboard = dashboard_get(user=user, dashboard_id=dashboard_id)
    if dashboard is None:
        raise ApplicationError(_("No such dashboard."), errors={"dashboard": [_("Choose one you read.")]})
    return None, dashboard


def _recipients(*, user, team_id, recipient_ids):
    team = None
    if team_id:
        teams = goal_selectors.team_list() if Role.ADMIN in roles_of(user) else goal_selectors.teams_of(user=user)
        team = teams.filter(pk=team_id).first()
        if team is None:
            raise ApplicationError(_("You can send to the members of your own teams only."), errors={
                "team": [_("Choose one of your teams.")]})
    ids = sorted(set(recipient_ids or []))
    if len(ids) > MAX_RECIPIENTS:
        raise ApplicationError(_("Too many recipients."), errors={"recipients": [_("At most 200.")]})
    people = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
    if len(people) != len(ids):
        raise ApplicationError(_("Some recipients are not active staff."), errors={
            "recipients": [_("Choose active staff members.")]})
    if team is None and not people:
        raise ApplicationError(_("Choose who receives it."), errors={"recipients": [
            _("Choose a team or at least one person.")]})
    return team, people


def _schedule(frequency: str, weekday: int) -> None:
    if frequency not in Subscription.Frequency.values:
        raise ApplicationError(_("Choose daily or weekly."), errors={"frequency": [_("daily or weekly")]})
    if not 0 <= int(weekday) <= 6:
        raise ApplicationError(_("Choose a weekday."), errors={"weekday": [_("0 (Monday) to 6 (Sunday).")]})


def subscription_create(*, user, frequency: str, at: time, weekday: int = 0, insight_id: int | None = None,
                        dashboard_id: int | None = None, date_range: str = "", team_id: int | None = None,
                        recipient_ids: list[int] | None = None) -> Subscription:
    insight, dashboard = _target(user=user, insight_id=insight_id, dashboard_id=dashboard_id)
    _schedule(frequency, weekday)
    _check_range(date_range)
    team, people = _recipients(user=user, team_id=team_id, recipient_ids=recipient_ids)
    with transaction.atomic():
        subscription = Subscription.objects.create(
            insight=insight, dashboard=dashboard, frequency=frequency, weekday=weekday, time=at,
            date_range=date_range, team=team, created_by=user,
            next_run_at=next_run_after(frequency=frequency, weekday=weekday, at=at, after=timezone.now()))
        subscription.recipients.set(people)
    return subscription


def subscription_update(*, user, subscription: Subscription, enabled: bool | None = None, **changes
                        ) -> Subscription:
    if not subscription_can_change(user=user, subscription=subscription):
        raise ApplicationError(_("Only who made a subscription, or an administrator, changes it."), status_code=403,
                               code="permission_denied")
    with transaction.atomic():
        if "frequency" in changes or "weekday" in changes or "at" in changes:
            subscription.frequency = changes.get("frequency", subscription.frequency)
            subscription.weekday = changes.get("weekday", subscription.weekday)
            subscription.time = changes.get("at", subscription.time)
            _schedule(subscription.frequency, subscription.weekday)
            subscription.next_run_at = next_run_after(frequency=subscription.frequency, weekday=subscription.weekday,
                                                      at=subscription.time, after=timezone.now())
        if "date_range" in changes:
            _check_range(changes["date_range"])
            subscription.date_range = changes["date_range"]
        if "team_id" in changes or "recipient_ids" in changes:
            team, people = _recipients(
                user=user, team_id=changes.get("team_id", subscription.team_id),
                recipient_ids=changes.get("recipient_ids", list(subscription.recipients.values_list("pk", flat=True))))
            subscription.team = team
            subscription.recipients.set(people)
        if enabled is not None:
            subscription.enabled = enabled
        subscription.save()
    return subscription


def subscription_delete(*, user, subscription: Subscription) -> None:
    if not subscription_can_change(user=user, subscription=subscription):
        raise ApplicationError(_("Only who made a subscription, or an administrator, deletes it."), status_code=403,
                               code="permission_denied")
    subscription.delete()


# Sending


def subscription_readers(subscription: Subscription) -> list:
    """Everyone it goes to: the team's active members and the named recipients, with an e-mail address."""
    people = {person.pk: person for person in subscription.recipients.filter(is_active=True)}
    if subscription.team_id:
        for membership in goal_selectors.team_members(team=subscription.team):
            if membership.user.is_active:
                people.setdefault(membership.user_id, membership.user)
    return sorted((p for p in people.values() if p.email), key=lambda p: p.pk)


def _override(subscription: Subscription) -> Dashboard | None:
    """The dashboard whose range and segment apply (a subscription's own range overrides it)."""
    dashboard = subscription.dashboard
    if not subscription.date_range:
        return dashboard
    return Dashboard(date_range=subscription.date_range, segment_id=dashboard.segment_id if dashboard else None)


@dataclass
class Section:
    insight: Insight
    evaluated: Evaluated
    override: Dashboard | None = None  # whose range and segment applied


def subscription_sections(subscription: Subscription, *, today=None) -> list[Section]:
    """Each insight it carries, evaluated once for every reader (answers from the cache while fresh); relative ranges
    are resolved on ``today`` (the run's day, so a retry on another day still covers the same dates)."""
    override = _override(subscription)
    insights = ([tile.insight for tile in dashboard_tiles(dashboard=subscription.dashboard)]
                if subscription.dashboard_id else [subscription.insight])
    sections = []
    for insight in insights:
        try:
            query = insight_query(insight=insight, dashboard=override, today=today)
        except ApplicationError as error:
            sections.append(Section(insight, Evaluated(kind=insight.kind, query={}, error={"message": error.message}),
                                    override))
            continue
        sections.append(Section(insight, report_result(kind=insight.kind, query=query), override))
    return sections


def _shown(sections: list[Section], reader) -> list[dict]:
    """The sections ``reader`` may read, shown in the active language; a section restricted to a segment their role
    may not see carries the refusal instead of its figures (``insight_answer_check``)."""
    readable = set(insight_visible_to(user=reader).filter(pk__in=[s.insight.pk for s in sections])
                   .values_list("pk", flat=True))
    shown = []
    for section in sections:
        if section.insight.pk not in readable:
            continue
        evaluated = section.evaluated
        try:
            insight_answer_check(user=reader, insight=section.insight, dashboard=section.override)
        except ApplicationError as error:
            evaluated = refused_evaluated(insight=section.insight, error=error)
        kind = report_kind(section.insight.kind)
        view = (present(kind=evaluated.kind, result=evaluated.result, query=evaluated.query)
                if evaluated.result is not None else None)
        shown.append({"insight": section.insight, "kind_label": str(kind.label) if kind else section.insight.kind,
                      "date_from": evaluated.date_from, "date_to": evaluated.date_to, "error": evaluated.error,
                      "number": view["number"] if view else None, "table": view["table"] if view else None,
                      "url": settings.SITE_URL + reverse("insights:detail", args=[section.insight.pk])})
    return shown


def subscription_xlsx(*, shown: list[dict]) -> bytes:
    """One sheet per insight: its table with a formatted header, numbers as numbers, ratios as percentages."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for index, section in enumerate(shown, start=1):
        title = "".join(ch for ch in section["insight"].display_name if ch not in "[]:*?/\\")[:28] or str(index)
        while title in used:
            title = f"{title[:25]}_{index}"
        used.add(title)
        sheet = workbook.create_sheet(title=title)
        table = section["table"] or {"columns": [], "rows": []}
        columns = table["columns"]
        for position, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(position)].width = 24 if column["kind"] == "text" else 14
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=str(column["label"]))
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, Alignment(horizontal="center")
            header.append(cell)
        sheet.append(header)
        for row in table["rows"]:
            cells = []
            for value, column in zip(row, columns, strict=False):
                if isinstance(value, str) and value[:1] in {"=", "+", "-", "@"}:
                    value = "'" + value  # a text cell is never a formula
                cell = WriteOnlyCell(sheet, value=value)
                if column["kind"] in NUMBER_FORMATS and value is not None:
                    cell.number_format = NUMBER_FORMATS[column["kind"]]
                cells.append(cell)
            sheet.append(cells)
    if not shown:
        workbook.create_sheet(title=_("Empty")).append([_("Nothing you may read in this subscription.")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _title(subscription: Subscription) -> str:
    return subscription.dashboard.display_name if subscription.dashboard_id else subscription.insight.display_name


def subscription_email(*, subscription: Subscription, run: SubscriptionRun, sections: list[Section], reader
                       ) -> EmailMultiAlternatives:
    """The e-mail for one reader, in their language: the figures in the body, the data attached as XLSX."""
    language = reader.language or settings.LANGUAGE_CODE
    with translation.override(language):
        shown = _shown(sections, reader)
        for section in shown:
            if section["table"]:
                section["rows"] = section["table"]["rows"][:ROWS_IN_BODY]
        target_url = (reverse("insights:dashboard", args=[subscription.dashboard_id]) if subscription.dashboard_id
                      else reverse("insights:detail", args=[subscription.insight_id]))
        context = {"subscription": subscription, "title": _title(subscription), "sections": shown, "reader": reader,
                   "slot": timezone.localtime(run.slot), "url": settings.SITE_URL + target_url,
                   "LANGUAGE_CODE": translation.get_language()}
        subject = _("%(title)s — %(day)s") % {"title": _title(subscription),
                                              "day": timezone.localtime(run.slot).date().isoformat()}
        text = render_to_string("insights/subscription_email.txt", context)
        html = render_to_string("insights/subscription_email.html", context)
        attachment = subscription_xlsx(shown=shown)
        filename = f"{_title(subscription)[:40]}-{timezone.localtime(run.slot).date().isoformat()}.xlsx"
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[reader.email])
    message.attach_alternative(html, "text/html")
    message.attach(filename, attachment, XLSX_TYPE)
    return message


def subscription_run_send(*, run_id: int) -> int:
    """Send a run to every reader who does not have it yet; returns how many e-mails went out. A send that fails
    raises (the task retries); readers already served are recorded and skipped."""
    run = SubscriptionRun.objects.select_related("subscription", "subscription__insight",
                                                 "subscription__dashboard", "subscription__team").get(pk=run_id)
    subscription = run.subscription
    sections = subscription_sections(subscription, today=timezone.localtime(run.slot).date())
    sent = 0
    try:
        for reader in subscription_readers(subscription):
            with transaction.atomic():
                SubscriptionRun.objects.select_for_update().only("pk").get(pk=run.pk)
                if SubscriptionDelivery.objects.filter(run=run, user=reader).exists():
                    continue
                subscription_email(subscription=subscription, run=run, sections=sections, reader=reader).send()
                SubscriptionDelivery.objects.create(run=run, user=reader, email=reader.email,
                                                    language=reader.language or settings.LANGUAGE_CODE)
            sent += 1
    except Exception as error:
        SubscriptionRun.objects.filter(pk=run.pk).update(status=SubscriptionRun.Status.FAILED, error=str(error)[:2000])
        raise
    SubscriptionRun.objects.filter(pk=run.pk).update(status=SubscriptionRun.Status.DONE, error="",
                                                     finished_at=timezone.now(), sent=run.deliveries.count())
    return sent


def subscriptions_due(*, now: datetime | None = None) -> list[int]:
    """Turn every due slot into a run (once: unique per slot) and move each subscription to its next slot; returns
    the runs to send (the caller queues them after commit). Slots missed while beat was down are sent once, not
    once per missed slot."""
    now = now or timezone.now()
    runs = []
    with transaction.atomic():
        due = Subscription.objects.select_for_update(skip_locked=True).filter(enabled=True, next_run_at__lte=now)
        for subscription in due:
            run, _created = SubscriptionRun.objects.get_or_create(subscription=subscription,
                                                                  slot=subscription.next_run_at)
            if run.status != SubscriptionRun.Status.DONE:
                runs.append(run.pk)
            subscription.next_run_at = next_run_after(frequency=subscription.frequency, weekday=subscription.weekday,
                                                      at=subscription.time, after=now)
            subscription.save(update_fields=["next_run_at"])
    return runs


def subscription_send_now(*, user, subscription: Subscription) -> SubscriptionRun:
    """A run for now, outside the schedule (the "send now" button), sent like any other."""
    if not subscription_can_change(user=user, subscription=subscription):
        raise ApplicationError(_("Only who made a subscription, or an administrator, sends it."), status_code=403,
                               code="permission_denied")
    return SubscriptionRun.objects.create(subscription=subscription, slot=timezone.now())
