"""The relationship log: contacts with notes, outcome and the next follow-up; completing a follow-up."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant, MerchantContact
from merchants.services.pipeline import _require_manage
from ops_platform.core.exceptions import ApplicationError


def _clean(kind: str, follow_up_on: date | None) -> None:
    if kind not in MerchantContact.Kind.values:
        raise ApplicationError(_("Unknown kind of contact."), errors={"kind": [_("Choose a kind from the list.")]})
    if follow_up_on is not None and follow_up_on < timezone.localdate():
        raise ApplicationError(_("A follow-up cannot be in the past."),
                               errors={"follow_up_on": [_("Today or later.")]})


@transaction.atomic
def contact_log(*, user, merchant_id: int, kind: str, notes: str = "", outcome: str = "",
                follow_up_on: date | None = None, happened_at=None) -> MerchantContact:
    merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
    if merchant is None:
        raise ApplicationError(_("No such merchant."), status_code=404, code="not_found")
    _require_manage(user, merchant)
    _clean(kind, follow_up_on)
    if len(notes or "") > 10_000:
        raise ApplicationError(_("The notes are too long."), errors={"notes": [_("At most 10000 characters.")]})
    return MerchantContact.objects.create(merchant=merchant, kind=kind, notes=(notes or "").strip(),
                                          outcome=(outcome or "").strip()[:300], follow_up_on=follow_up_on,
                                          happened_at=happened_at or timezone.now(), logged_by=user)


@transaction.atomic
def follow_up_complete(*, user, contact_id: int, kind: str, notes: str = "", outcome: str = "",
                       next_follow_up_on: date | None = None) -> MerchantContact:
    """Do the follow-up a contact asked for: it is marked done and the new contact is logged, proposing the next."""
    contact = MerchantContact.objects.select_for_update().select_related("merchant").filter(pk=contact_id).first()
    if contact is None:
        raise ApplicationError(_("No such log entry."), status_code=404, code="not_found")
    _require_manage(user, contact.merchant)
    if contact.follow_up_on is None or contact.follow_up_done_at is not None:
        raise ApplicationError(_("This entry has no open follow-up."), code="no_follow_up")
    new = contact_log(user=user, merchant_id=contact.merchant_id, kind=kind, notes=notes, outcome=outcome,
                      follow_up_on=next_follow_up_on)
    contact.follow_up_done_at = new.happened_at
    contact.save(update_fields=["follow_up_done_at"])
    return new
