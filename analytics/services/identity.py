"""Identity: several distinct ids, one person — merges applied at write time.

A ``Person`` row maps one distinct id to a person id; ``merged_into`` points an id at the person its events now
belong to. When an SDK links an anonymous id to a user id (Segment ``identify``/``alias``, PostHog ``$identify``/
``$create_alias``, Sensors ``track_signup``), ``identities_link`` merges the anonymous id's person into the user id's
person:

- every id that pointed at the person merged away now points at the person kept (no chains: one look-up at
  ingestion, ``COALESCE(merged_into, id)``);
- the events already stored under the merged person are re-pointed (``UPDATE … SET person_id``): links that arrive
  after the events they join (late identify) re-point them then, and events that arrive after the link are stored
  under the kept person straight away. The reports, which all key on ``events.person_id``, count the person once
  without knowing that merges exist;
- the kept person's first-touch facts are recomputed from its events, so its first visit (and channel) is the
  anonymous visit's when that came first;
- a ``PersonMerge`` row records the merge, for the domain apps that keep rows per person (``users`` moves customers
  and coupons onto the kept person at its next refresh).

The rule that keeps two customers apart (PostHog's): a person that is already identified — a user id was named by a
link, or another id was merged into it — is never merged into another. An anonymous id that touches two customers
joins the first that names it; the second link is refused (reported, not applied). Links are applied in order.

Cost: a merge rewrites the merged person's events (anonymous browsing: a handful) and reads the kept person's fact
events; ingestion pays one more column in the look-up it already made (bench/RESULTS.md, "Identity").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from analytics.models import Event, Person, PersonFacts, PersonMerge, Tally
from analytics.services.facts import (
    FACT_EVENTS_SQL,
    PERSONS,
    TALLY_UPSERT_SQL,
    person_facts_merge,
    person_facts_rebuild,
)

MERGES_SEEN = "person_merges_seen"  # Tally key: the last merge whose days the nightly metrics have recomputed
RECOMPUTE_MAX_DAYS = 90


@dataclass(frozen=True, slots=True)
class Link:
    """``anonymous_id``'s person joins ``known_id``'s (the user id). ``index``: the message's place in its batch."""

    anonymous_id: str
    known_id: str
    index: int = 0
    # ``identify``: ``known_id`` is a user id, so an identified anonymous side is refused. ``alias``: two ids of one
    # user, neither said to be the user id — when exactly one side is identified the other joins it, whichever it is.
    kind: str = "identify"


@dataclass
class LinkResult:
    merged: int = 0
    already: int = 0
    refused: list[Link] = field(default_factory=list)


def _persons_ensure(distinct_ids: list[str]) -> None:
    """Create the people the links name (one statement on PostgreSQL, as the loader does)."""
    from analytics.services.loading import persons_create  # the loader imports this module

    persons_create(distinct_ids)


def identities_link(links: Iterable[Link]) -> LinkResult:
    """Apply links in order, each in its own short transaction (see the module's doc for the rules)."""
    links = [link for link in links if link.anonymous_id != link.known_id]
    result = LinkResult()
    if not links:
        return result
    _persons_ensure(sorted({name for link in links for name in (link.anonymous_id, link.known_id)}))
    for link in links:
        outcome = _link_one(link)
        if outcome == "merged":
            result.merged += 1
        elif outcome == "already":
            result.already += 1
        else:
            result.refused.append(link)
    return result


def _canonical(person: Person) -> int:
    return person.merged_into or person.id


@transaction.atomic
def _link_one(link: Link) -> str:
    # Lock the two ids' rows, then the two persons they resolve to, each time in id order (no deadlock between links).
    rows = {p.distinct_id: p for p in Person.objects.select_for_update().filter(
        distinct_id__in=[link.anonymous_id, link.known_id]).order_by("id")}
    anonymous, known = rows[link.anonymous_id], rows[link.known_id]
    source, target = _canonical(anonymous), _canonical(known)
    heads = {p.id: p for p in Person.objects.select_for_update().filter(id__in=[source, target]).order_by("id")}
    if source == target:
        if not heads[target].identified:
            Person.objects.filter(id=target).update(identified=True)
        return "already"
    if heads[source].identified:
        if link.kind != "alias" or heads[target].identified:
            return "refused"
        source, target = target, source
    Person.objects.filter(Q(id=source) | Q(merged_into=source)).update(merged_into=target)
    Person.objects.filter(id=target).update(identified=True, merged_into=None)
    moved = Event.objects.filter(person_id=source).update(person_id=target)
    PersonFacts.objects.filter(person_id=source).delete()
    person_facts_merge(
        source_sql=(f"SELECT id, person_id, event, timestamp, channel FROM {Event._meta.db_table} "  # noqa: S608
                    f"WHERE person_id = %s AND event IN ({FACT_EVENTS_SQL})"),
        params=[target],
    )
    with connection.cursor() as cursor:
        cursor.execute(TALLY_UPSERT_SQL, [PERSONS, -1])
    PersonMerge.objects.create(from_person=source, into_person=target, anonymous_id=link.anonymous_id,
                               known_id=link.known_id, events=moved, merged_at=timezone.now())
    return "merged"


def person_merges_reapply() -> int:
    """Re-point events still stored under a merged person (a load that looked its person up just before a merge
    committed) and recompute the facts if any moved. Nightly; returns the events moved. The partial index on
    ``merged_into`` keeps the look-up to the merged ids."""
    event, person = Event._meta.db_table, Person._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"""
                UPDATE {event} SET person_id = (SELECT p.merged_into FROM {person} p WHERE p.id = {event}.person_id)
                WHERE person_id IN (SELECT id FROM {person} WHERE merged_into IS NOT NULL)""")  # noqa: S608
            moved = cursor.rowcount
        if moved:
            person_facts_rebuild()
    return moved


def person_id_resolve(distinct_id: str) -> int | None:
    """The person a distinct id's events belong to (after merges), or None for an id never seen."""
    row = Person.objects.filter(distinct_id=distinct_id).values_list("id", "merged_into").first()
    if row is None:
        return None
    return row[1] or row[0]


def person_merges_since(*, after_id: int = 0) -> list[tuple[int, int, int]]:
    """(merge id, from person, into person) of the merges after ``after_id``, in the order applied."""
    return list(PersonMerge.objects.filter(id__gt=after_id).order_by("id")
                .values_list("id", "from_person", "into_person"))


@transaction.atomic
def merged_days_take(*, today: date) -> date | None:
    """The first local day whose stored AARRR rows merges since the last call may have changed (a merged person's
    events move to another first-touch channel), at most ``RECOMPUTE_MAX_DAYS`` back; None when there were none.
    Marks those merges as taken: the nightly task recomputes from that day to the day before yesterday."""
    seen = Tally.objects.select_for_update().filter(key=MERGES_SEEN).values_list("value", flat=True).first() or 0
    merges = PersonMerge.objects.filter(id__gt=seen)
    last = merges.aggregate(last=Max("id"))["last"]
    if last is None:
        return None
    first = Event.objects.filter(person_id__in=merges.values("into_person")).aggregate(first=Min("timestamp"))["first"]
    Tally.objects.update_or_create(key=MERGES_SEEN, defaults={"value": last})
    if first is None:
        return None
    return max(timezone.localtime(first).date(), today - timedelta(days=RECOMPUTE_MAX_DAYS))
