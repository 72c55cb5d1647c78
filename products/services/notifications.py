"""In-app notifications about tickets, also sent through Django's e-mail backend after the commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone, translation

from products.models import Notification, Ticket
from products.notification_texts import notification_text


def notifications_send(*, ticket: Ticket, recipients: Iterable, code: str, params: dict,
                       exclude=None) -> list[Notification]:
    """One notification per distinct active recipient (never the person who acted); e-mails go out on commit.

    What happened is stored as ``code`` + ``params`` and worded for each reader in their language
    (products.notification_texts): the page words it when shown, each e-mail is written in its recipient's language
    (their saved one, else the site's). ``message`` keeps the sentence in the site's language."""
    seen, people = set(), []
    for person in recipients:
        if person is None or not person.is_active or person.pk in seen or (
                exclude is not None and person.pk == exclude.pk):
            continue
        seen.add(person.pk)
        people.append(person)
    with translation.override(settings.LANGUAGE_CODE):
        text = notification_text(code, params)[:300]
    created = Notification.objects.bulk_create([Notification(recipient=p, ticket=ticket, code=code, params=params,
                                                             message=text) for p in people])
    mails = []
    for person in people:
        if not person.email:
            continue
        with translation.override(getattr(person, "language", "") or settings.LANGUAGE_CODE):
            mails.append((f"[{ticket.key}] {ticket.title}"[:150], notification_text(code, params)[:300],
                          settings.DEFAULT_FROM_EMAIL, [person.email]))
    if mails:
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))
    return created


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications (all, or the given ids) as read; returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
