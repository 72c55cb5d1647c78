"""Customer and merchant feedback: logged by operations, triaged by product ops into tickets (many to one)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Action, Area, can
from products import notification_texts as texts
from products.models import FeedbackItem, Ticket
from products.services.notifications import notifications_send

MAX_TRIAGE = 500


def feedback_create(*, created_by, source: str, who: str, text: str, category: str = FeedbackItem.Category.REQUEST
                    ) -> FeedbackItem:
    item = FeedbackItem(source=source, who=(who or "").strip(), text=(text or "").strip(), category=category,
                        created_by=created_by)
    try:
        item.full_clean(exclude=["ticket", "created_by"])
    except ValidationError as exc:
        raise ApplicationError(_("The feedback has invalid fields; see errors."), errors=exc.message_dict) from exc
    item.save()
    return item


@transaction.atomic
def feedback_triage(*, actor, feedback_ids: list[int], ticket_id: int) -> Ticket:
    """Attach feedback items to a ticket; every ticket involved recounts how many asked for it. An item already
    attached to this ticket is refused with a message (an item on another ticket moves)."""
    if not can(actor, Area.FEEDBACK_TRIAGE, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")
    ids = sorted({int(i) for i in feedback_ids})
    if not ids or len(ids) > MAX_TRIAGE:
        raise ApplicationError(_("Choose the feedback to triage."), errors={"feedback_ids": [
            _("Between 1 and %(n)d items.") % {"n": MAX_TRIAGE}]})
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise ApplicationError(_("No such ticket."), errors={"ticket": [_("No such ticket.")]})
    items = list(FeedbackItem.objects.select_for_update().filter(pk__in=ids))
    missing = sorted(set(ids) - {item.pk for item in items})
    if missing:
        raise ApplicationError(_("Some feedback items do not exist."), errors={"feedback_ids": [
            _("Unknown: %(ids)s") % {"ids": ", ".join(map(str, missing))}]})
    attached = sorted(item.pk for item in items if item.ticket_id == ticket.pk)
    if attached:
        # Attaching again would notify (and, counted by the request, report) the same asks twice.
        raise ApplicationError(
            _("Some feedback is already attached to %(key)s.") % {"key": ticket.key},
            errors={"feedback_ids": [_("Already attached: #%(ids)s.") % {"ids": ", #".join(map(str, attached))}]},
            code="already_attached")
    previous = {item.ticket_id for item in items if item.ticket_id and item.ticket_id != ticket.pk}
    FeedbackItem.objects.filter(pk__in=ids).update(ticket=ticket, triaged_at=timezone.now())
    for affected in Ticket.objects.select_for_update().filter(pk__in=previous | {ticket.pk}):
        affected.feedback_count = FeedbackItem.objects.filter(ticket=affected).count()
        affected.save(update_fields=["feedback_count", "updated_at"])
        if affected.pk == ticket.pk:
            ticket = affected
    notifications_send(ticket=ticket, recipients=ticket.watchers.all(), exclude=actor,
                       code=texts.FEEDBACK_MORE,
                       params={"n": len(ids), "key": ticket.key, "total": ticket.feedback_count})
    return ticket
