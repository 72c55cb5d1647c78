"""Writes on requirement tickets: create, edit (with a version check), workflow moves with their gates,
comments with @mentions, watchers, attachments, iterations. Every change is recorded."""

from __future__ import annotations

import re
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import (
    CLOSED_TICKET_STATES,
    Action,
    Area,
    can,
    can_edit_ticket,
    can_own_tickets,
)
from products import notification_texts as texts
from products.models import (
    Ticket,
    TicketAttachment,
    TicketChange,
    TicketComment,
    TicketTransition,
)
from products.services.gates import move_refusal
from products.services.notifications import notifications_send

EDITABLE_FIELDS = ("title", "description", "kind", "priority", "owner_pm", "aarrr_stage", "target_metric",
                   "expected_change", "due_date", "labels", "links")
LINK_KINDS = ("merchant", "segment", "campaign")
MAX_LABELS = 20
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+)")
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".pdf": "application/pdf",
    ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A file must start like its type says (the browser's content type is not trusted).
MAGIC = {".png": b"\x89PNG", ".jpg": b"\xff\xd8", ".jpeg": b"\xff\xd8", ".gif": b"GIF8", ".pdf": b"%PDF",
         ".xlsx": b"PK"}


def _clean_labels(labels) -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ApplicationError(_("Labels must be a list of words."), errors={"labels": [_("Give a list of words.")]})
    cleaned = sorted({label.strip()[:40] for label in labels if label.strip()})
    if len(cleaned) > MAX_LABELS:
        raise ApplicationError(_("Too many labels."),
                               errors={"labels": [_("At most %(n)d labels.") % {"n": MAX_LABELS}]})
    return cleaned


def _clean_links(links) -> list[dict]:
    if links is None:
        return []
    problem = {"links": [_('Give a list of {"kind": merchant|segment|campaign, "ref": …} objects.')]}
    if not isinstance(links, list):
        raise ApplicationError(_("Links are malformed."), errors=problem)
    cleaned = []
    for link in links:
        if (not isinstance(link, dict) or link.get("kind") not in LINK_KINDS or not isinstance(link.get("ref"), str)
                or not link["ref"].strip()):
            raise ApplicationError(_("Links are malformed."), errors=problem)
        cleaned.append({"kind": link["kind"], "ref": link["ref"].strip()[:100]})
    return cleaned


def _full_clean(ticket: Ticket) -> None:
    try:
        ticket.full_clean(exclude=["requester", "owner_pm", "parent"])
    except ValidationError as exc:
        raise ApplicationError(_("The ticket has invalid fields; see errors."), errors=exc.message_dict) from exc


def _locked(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise ApplicationError(_("No such ticket."), status_code=404, code="not_found")
    return ticket


def _check_version(ticket: Ticket, version: int | None) -> None:
    if version is not None and int(version) != ticket.version:
        raise ApplicationError(
            _("%(key)s was changed by someone else since you opened it (you have version %(yours)s, the ticket is "
              "at version %(now)s). Reload it, check their changes and apply yours again.")
            % {"key": ticket.key, "yours": version, "now": ticket.version},
            errors={"version": [_("Stale version; reload the ticket.")]}, status_code=409, code="conflict")


def ticket_check_open(ticket: Ticket) -> None:
    """A 403 when the ticket is closed (concluded, rejected, cancelled): it takes comments only."""
    if ticket.status in CLOSED_TICKET_STATES:
        raise ApplicationError(
            _("%(key)s is %(status)s: it no longer changes. Comment on it, or start its next iteration.") % {
                "key": ticket.key, "status": ticket.get_status_display()},
            status_code=403, code="ticket_closed")


def ticket_check_editable(ticket: Ticket, actor) -> None:
    """A 403 unless ``actor`` may change this ticket (roles.can_edit_ticket): its requester, owner PM or an admin,
    and the ticket still open."""
    ticket_check_open(ticket)
    if not can_edit_ticket(actor, requester_id=ticket.requester_id, owner_pm_id=ticket.owner_pm_id,
                           status=ticket.status):
        raise ApplicationError(_("Only the ticket's requester, its owner PM or an administrator may change it. "
                                 "Comment on it instead."), status_code=403, code="permission_denied")


def _check_owner_pm(owner_pm) -> None:
    if owner_pm is not None and not (owner_pm.is_active and can_own_tickets(owner_pm)):
        raise ApplicationError(_("The owner must be a product manager."),
                               errors={"owner_pm": [_("Choose a staff member with the PM role.")]})


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


@transaction.atomic
def ticket_create(*, requester, title: str, description: str = "", kind: str = Ticket.Kind.FEATURE,
                  priority: int = Ticket.Priority.MEDIUM, owner_pm=None, assignees=(), aarrr_stage: str = "",
                  target_metric: str = "", expected_change: str = "", due_date: date | None = None,
                  labels: list[str] | None = None, links: list[dict] | None = None, parent: Ticket | None = None
                  ) -> Ticket:
    _check_owner_pm(owner_pm)
    ticket = Ticket(title=(title or "").strip(), description=description or "", kind=kind, priority=priority,
                    requester=requester, owner_pm=owner_pm, aarrr_stage=aarrr_stage or "",
                    target_metric=target_metric or "", expected_change=expected_change or "", due_date=due_date,
                    labels=_clean_labels(labels), links=_clean_links(links), parent=parent)
    _full_clean(ticket)
    ticket.save()
    assignees = list(assignees)
    if assignees:
        ticket.assignees.set(assignees)
    ticket.watchers.set({person for person in [requester, owner_pm, *assignees] if person is not None})
    TicketTransition.objects.create(ticket=ticket, actor=requester, from_status="", to_status=ticket.status)
    if owner_pm is not None:
        notifications_send(ticket=ticket, recipients=[owner_pm], exclude=requester,
                           code=texts.FILED, params={"key": ticket.key, "title": ticket.title})
    return ticket


@transaction.atomic
def ticket_update(*, ticket_id: int, actor, version: int, assignees=None, **fields) -> Ticket:
    """Change some fields. ``version`` is the one the editor loaded: a stale one is a 409, nothing saved."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(_("These fields cannot be changed here."),
                               errors={f: [_("Not editable.")] for f in sorted(unknown)})
    ticket = _locked(ticket_id)
    ticket_check_editable(ticket, actor)
    _check_version(ticket, version)
    if "owner_pm" in fields:
        _check_owner_pm(fields["owner_pm"])
    if "labels" in fields:
        fields["labels"] = _clean_labels(fields["labels"])
    if "links" in fields:
        fields["links"] = _clean_links(fields["links"])
    changes = []
    for name, value in fields.items():
        before = getattr(ticket, name)
        if name == "title":
            value = (value or "").strip()
        if _jsonable(before) != _jsonable(value):
            changes.append(TicketChange(ticket=ticket, actor=actor, field=name, before=_jsonable(before),
                                        after=_jsonable(value)))
            setattr(ticket, name, value)
    if assignees is not None:
        before_ids = sorted(ticket.assignees.values_list("pk", flat=True))
        after_ids = sorted({person.pk for person in assignees})
        if before_ids != after_ids:
            changes.append(TicketChange(ticket=ticket, actor=actor, field="assignees", before=before_ids,
                                        after=after_ids))
    if not changes:
        return ticket
    _full_clean(ticket)
    ticket.version += 1
    ticket.save()
    if assignees is not None:
        ticket.assignees.set(assignees)
        ticket.watchers.add(*assignees)
    TicketChange.objects.bulk_create(changes)
    names = [change.field for change in changes]
    notifications_send(ticket=ticket, recipients=ticket.watchers.all(), exclude=actor,
                       code=texts.CHANGED, params={"who": actor.get_username(), "fields": names, "key": ticket.key})
    return ticket


@transaction.atomic
def ticket_move(*, ticket_id: int, actor, to_status: str, comment: str = "", version: int | None = None,
                reason: str = "", outcome: str = "", analysis_summary: str = "") -> Ticket:
    """Move a ticket along the workflow, if the actor's role allows this move and its gate is open."""
    ticket = _locked(ticket_id)
    _check_version(ticket, version)
    from_status = ticket.status
    # The same rule the ticket page shows (products/services/gates.py): one truth for display and enforcement.
    refusal = move_refusal(ticket=ticket, user=actor, to_status=to_status)
    if refusal is not None and refusal.kind == "invalid":
        raise ApplicationError(refusal.message, errors={"to_status": [_("Not a next state of this ticket.")]},
                               code="invalid_move")
    if refusal is not None and refusal.kind == "role":
        raise ApplicationError(refusal.message, status_code=403, code="permission_denied")
    errors: dict[str, list[str]] = {}
    if refusal is not None:
        errors["to_status"] = [refusal.message]
    if to_status == Ticket.Status.REJECTED and not reason.strip():
        errors["reason"] = [_("Say why the requirement is rejected.")]
    if to_status == Ticket.Status.CONCLUDED:
        if outcome not in Ticket.Outcome.values:
            errors["outcome"] = [_("Choose success, neutral or failure.")]
        if not analysis_summary.strip():
            errors["analysis_summary"] = [_("Summarise the analysis.")]
    if errors:
        raise ApplicationError(_("This move is not possible yet; see errors."), errors=errors, code="gate")
    now = timezone.now()
    ticket.status = to_status
    if to_status == Ticket.Status.REJECTED:
        ticket.rejection_reason = reason.strip()
    if to_status == Ticket.Status.LAUNCHED:
        ticket.launched_at = now
    if to_status == Ticket.Status.CONCLUDED:
        ticket.outcome, ticket.analysis_summary, ticket.concluded_at = outcome, analysis_summary.strip(), now
    ticket.version += 1
    ticket.save()
    TicketTransition.objects.create(ticket=ticket, actor=actor, from_status=from_status, to_status=to_status,
                                    comment=(comment or reason or analysis_summary).strip())
    notifications_send(ticket=ticket, recipients=ticket.watchers.all(), exclude=actor,
                       code=texts.MOVED, params={"who": actor.get_username(), "key": ticket.key, "from": from_status,
                                                 "to": to_status})
    return ticket


@transaction.atomic
def ticket_comment_add(*, ticket_id: int, author, body: str) -> TicketComment:
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("The comment is empty."), errors={"body": [_("Write something.")]})
    if len(body) > 10_000:
        raise ApplicationError(_("The comment is too long."), errors={"body": [_("At most 10000 characters.")]})
    ticket = _locked(ticket_id)
    names = {name.rstrip(".") for name in MENTION.findall(body)}
    mentioned = list(get_user_model().objects.filter(username__in=names, is_active=True)) if names else []
    comment = TicketComment.objects.create(ticket=ticket, author=author, body=body)
    if mentioned:
        comment.mentions.set(mentioned)
    ticket.watchers.add(author, *mentioned)
    if mentioned:
        notifications_send(ticket=ticket, recipients=mentioned, exclude=author,
                           code=texts.MENTIONED, params={"who": author.get_username(), "key": ticket.key})
    mentioned_ids = {person.pk for person in mentioned}
    notifications_send(ticket=ticket, recipients=ticket.watchers.exclude(pk__in=mentioned_ids), exclude=author,
                       code=texts.COMMENTED, params={"who": author.get_username(), "key": ticket.key})
    return comment


def ticket_watch(*, ticket_id: int, user, watching: bool) -> bool:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise ApplicationError(_("No such ticket."), status_code=404, code="not_found")
    if watching:
        ticket.watchers.add(user)
    else:
        ticket.watchers.remove(user)
    return watching


@transaction.atomic
def ticket_attachment_add(*, ticket_id: int, user, upload) -> TicketAttachment:
    """Store a file (at most 5 MB, of a known type whose first bytes match) on a ticket."""
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        raise ApplicationError(_("This type of file is not accepted."), errors={"file": [
            _("Accepted: %(types)s.") % {"types": ", ".join(sorted(ATTACHMENT_TYPES))}]})
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ApplicationError(_("The file is too large."), errors={"file": [_("At most 5 MB.")]}, status_code=413,
                               code="too_large")
    head = upload.read(8)
    upload.seek(0)
    magic = MAGIC.get(extension)
    if (magic and not head.startswith(magic)) or (magic is None and b"\x00" in head):
        raise ApplicationError(_("The file's content does not match its type."),
                               errors={"file": [_("The content is not a %(ext)s file.") % {"ext": extension}]})
    ticket = _locked(ticket_id)
    ticket_check_editable(ticket, user)
    attachment = TicketAttachment(ticket=ticket, name=name, size=upload.size, content_type=ATTACHMENT_TYPES[extension],
                                  uploaded_by=user)
    attachment.file.save(name, upload, save=False)
    attachment.save()
    TicketChange.objects.create(ticket=ticket, actor=user, field="attachments", before=None, after=name)
    return attachment


@transaction.atomic
def ticket_iterate(*, ticket_id: int, actor, title: str, description: str = "") -> Ticket:
    """Start the optimisation of a concluded ticket as a new linked ticket (the next iteration)."""
    if not can(actor, Area.ITERATIONS, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")
    parent = _locked(ticket_id)
    if parent.status != Ticket.Status.CONCLUDED:
        raise ApplicationError(_("Only a concluded ticket can start an iteration."),
                               errors={"status": [_("Conclude the ticket first.")]}, code="invalid_move")
    child = ticket_create(requester=actor, title=title, description=description, kind=Ticket.Kind.IMPROVEMENT,
                          priority=parent.priority, aarrr_stage=parent.aarrr_stage,
                          owner_pm=parent.owner_pm if parent.owner_pm_id and parent.owner_pm.is_active
                          and can_own_tickets(parent.owner_pm) else None,
                          target_metric=parent.target_metric, labels=parent.labels, links=parent.links, parent=parent)
    notifications_send(ticket=parent, recipients=parent.watchers.all(), exclude=actor,
                       code=texts.ITERATED, params={"who": actor.get_username(), "child": child.key, "key": parent.key})
    return child
