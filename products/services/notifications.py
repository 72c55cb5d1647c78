"""In-app notifications about tickets, also sent through Django's e-mail backend after the commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from products.models import Notification, Ticket


def notifications_send(*, ticket: Ticket, recipients: Iterable, message: str, exclude=None) -> list[Notification]:
    """One notification per distinct active recipient (never the person who acted); e-mails go out on commit."""
    seen, people = set(), []
    for person in recipients:
        if person is None or not person.is_active or person.pk in seen or (
                exclude is not None and person.pk == exclude.pk):
            continue
        seen.add(person.pk)
        people.append(person)
    text = message[:300]
    created = Notification.objects.bulk_create([Notification(recipient=p, ticket=ticket, message=text) for p in people])
    mails = [(f"[{ticket.key}] {ticket.title}"[:150], text, settings.DEFAULT_FROM_EMAIL, [p.email])
             for p in people if p.email]
    if mails:
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))
    return created


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications (all, or the given ids) as read; returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
