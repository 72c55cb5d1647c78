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

Cost: a merge locks the rows (one statement) and is one statement on PostgreSQL — it rewrites the merged person's
events (anonymous browsing: a handful) and folds its facts row into the kept person's. Ingestion pays one more column
in the person look-up it already made; reports pay nothing (bench/RESULTS.md, "Tracking SDK endpoints").
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
    FACTS_KEEP_EARLIER,
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
    if result.merged:  # one write of the shared counter per request, not one per merge
        with connection.cursor() as cursor:
            cursor.execute(TALLY_UPSERT_SQL, [PERSONS, -result.merged])
    return result


# PostgreSQL: a merge is one statement once the rows are locked. The merged person's facts are folded into the kept
# person's by the same keep-the-earlier upsert the loads use, from its facts row (no read of either person's events).
_EVENT, _PERSON, _FACTS = Event._meta.db_table, Person._meta.db_table, PersonFacts._meta.db_table
MERGE_ONE_SQL = f"""
WITH ids AS (
    UPDATE {_PERSON} SET merged_into = %(target)s WHERE id = %(source)s OR merged_into = %(source)s RETURNING 1
),
kept AS (UPDATE {_PERSON} SET identified = true, merged_into = NULL WHERE id = %(target)s RETURNING 1),
moved AS (UPDATE {_EVENT} SET person_id = %(target)s WHERE person_id = %(source)s RETURNING 1),
gone AS (DELETE FROM {_FACTS} WHERE person_id = %(source)s RETURNING *),
folded AS (
    INSERT INTO {_FACTS} AS f (person_id, first_visit_at, first_visit_id, first_channel, first_signup_at,
                               first_order_at)
    SELECT %(target)s, first_visit_at, first_visit_id, first_channel, first_signup_at, first_order_at FROM gone
    {FACTS_KEEP_EARLIER}
    RETURNING 1
),
logged AS (
    INSERT INTO {PersonMerge._meta.db_table} (from_person, into_person, anonymous_id, known_id, events, merged_at)
    SELECT %(source)s, %(target)s, %(anonymous)s, %(known)s, (SELECT count(*) FROM moved), %(now)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM ids), (SELECT count(*) FROM kept), (SELECT count(*) FROM folded),
       (SELECT count(*) FROM logged)
"""  # noqa: S608 - only table and column names are formatted in; values travel as parameters
# The two ids' rows and the persons they resolve to, locked in one statement (persons in id order).
LOCK_SQL = f"""
SELECT p.distinct_id, h.id, h.identified FROM {_PERSON} p JOIN {_PERSON} h ON h.id = COALESCE(p.merged_into, p.id)
WHERE p.distinct_id IN (%s, %s) ORDER BY h.id, p.id FOR UPDATE
"""  # noqa: S608


def _canonical(person: Person) -> int:
    return person.merged_into or person.id


@transaction.atomic
def _link_one(link: Link) -> str:
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [link.anonymous_id, link.known_id])
            rows = {name: (head, identified) for name, head, identified in cursor.fetchall()}
        (source, source_known), (target, target_known) = rows[link.anonymous_id], rows[link.known_id]
    else:
        found = {p.distinct_id: p for p in Person.objects.select_for_update().filter(
            distinct_id__in=[link.anonymous_id, link.known_id]).order_by("id")}
        source, target = _canonical(found[link.anonymous_id]), _canonical(found[link.known_id])
        heads = dict(Person.objects.filter(id__in=[source, target]).values_list("id", "identified"))
        source_known, target_known = heads[source], heads[target]
    if source == target:
        if not target_known:
            Person.objects.filter(id=target).update(identified=True)
        return "already"
    if source_known:
        if link.kind != "alias" or target_known:
            return "refused"
        source, target = target, source
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(MERGE_ONE_SQL, {"source": source, "target": target, "anonymous": link.anonymous_id,
                                           "known": link.known_id, "now": timezone.now()})
        return "merged"
    Person.objects.filter(Q(id=source) | Q(merged_into=source)).update(merged_into=target)
    Person.objects.filter(id=target).update(identified=True, merged_into=None)
    moved = Event.objects.filter(person_id=source).update(person_id=target)
    PersonFacts.objects.filter(person_id=source).delete()
    person_facts_merge(
        source_sql=(f"SELECT id, person_id, event, timestamp, channel FROM {_EVENT} "  # noqa: S608
                    f"WHERE person_id = %s AND event IN ({FACT_EVENTS_SQL})"),
        params=[target],
    )
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
