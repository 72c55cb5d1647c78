"""factory_boy factories. Events go through ``events_load`` (the one write path), never ``Event.objects``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import factory
from django.utils import timezone

from analytics.services.loading import EventRow, LoadResult, events_load
from merchants.models import Merchant
from products.models import Ticket


def local_time(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An aware datetime at ``hour:minute`` of ``day`` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), timezone.get_current_timezone())


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    code = factory.Sequence(lambda n: f"M{n:05d}")
    name = factory.Sequence(lambda n: f"Merchant {n}")
    category = "food"
    city = "Shanghai"
    district = "Xuhui"
    stage = Merchant.Stage.LIVE
    owner = None


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    title = factory.Sequence(lambda n: f"Requirement {n}")
    description = "Raised by operations."
    kind = Ticket.Kind.FEATURE
    priority = Ticket.Priority.MEDIUM
    status = Ticket.Status.PROPOSED
    requester = None
    owner_pm = None


class EventRowFactory(factory.Factory):
    """An ``EventRow`` ready for ``events_load``: a visit now by customer c<n>, unless told otherwise."""

    class Meta:
        model = EventRow

    uuid = factory.LazyFunction(uuid.uuid4)
    event = "visit"
    distinct_id = factory.Sequence(lambda n: f"c{n}")
    timestamp = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    properties = factory.LazyAttribute(lambda row: {"channel": "organic"} if row.event == "visit" else {})


def events_create(count: int = 1, **fields) -> LoadResult:
    """Store ``count`` events built by ``EventRowFactory(**fields)`` through ``events_load``."""
    return events_load(EventRowFactory.build_batch(count, **fields))


def event_row(event: str, distinct_id: str, at: datetime, **properties) -> EventRow:
    """One event for a hand-written scenario: ``event_row("visit", "alice", local_time(day, 9), channel="wechat")``."""
    return EventRowFactory.build(event=event, distinct_id=distinct_id, timestamp=at, properties=properties)


def without_clock(answer: dict) -> dict:
    """A report's answer less the instant it was computed at (a funnel's ``window.as_of`` and ``closed_before``):
    two reads of the same report a moment apart give the same numbers, not the same clock."""
    if not isinstance(answer, dict) or "window" not in answer:
        return answer
    window = {key: value for key, value in answer["window"].items() if key not in {"as_of", "closed_before"}}
    return {**answer, "window": window}
