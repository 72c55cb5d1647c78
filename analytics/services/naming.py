"""Canonical names: an SDK's event and property names mapped onto the ones the metrics read, at ingestion.

An administrator maps ``Order Completed`` → ``order_paid`` (an event name) and ``revenue`` → ``amount`` (a property,
on ``order_paid`` events or on every event) without code (the "Event names" page, ``/api/v1/analytics/name-mappings/``).

Where: ``events_ingest_load`` (analytics/services/ingest.py) applies the mappings to validated rows just before
``events_load``, for every ingestion path — the batch API, the Segment, PostHog and Sensors Data endpoints and
``import_events``. Demo data, tests and benchmarks that call ``events_load`` directly write canonical names already.
Events and properties no mapping names are stored as they come.

Rules (checked by ``name_mapping_errors``, answered as field errors):

- Event names: the source must not be a canonical event (``CANONICAL_EVENTS``: renaming one away would empty a
  metric); the target must be a canonical event or an event already received (a name nothing reads is a typo). Two
  SDK names may map onto one event (web and app name it differently). No chains: a target may not be another
  mapping's source, a source not another's target (so there is no cycle either, and applying once is final).
- Properties: scoped to a canonical event (the name after renaming, so one rule covers every SDK's name for it), or
  global (blank scope); a scoped rule wins over a global one for the same key. Two keys may not map onto one key in
  the same scope (which would win when an event carries both?), and no chains within a scope and the global rules.
  When an event already carries the target key, its own value is kept and the source key left as it is.
- Not retroactive: a mapping changes events received after it is saved. Stored events keep their names (the
  preview shows how many stored events of the last days it would have changed, i.e. what the next days will look
  like); rewriting stored events would also mean rebuilding the days' facts and columns, not offered here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import Event, NameMapping
from analytics.services.loading import EventRow
from ops_platform.core.exceptions import ApplicationError

CANONICAL_EVENTS = ("visit", "signup", "order_paid", "order_received", "review")
MAX_NAME_LENGTH = 200
MAX_PROPERTY_LENGTH = 100
PREVIEW_DEFAULT_DAYS = 7
PREVIEW_MAX_DAYS = 90
PREVIEW_EXAMPLES = 5
Kind = NameMapping.Kind


@dataclass(frozen=True)
class Naming:
    """The mappings in force, ready to apply: event renames, then property renames by the final event name."""

    events: dict[str, str] = field(default_factory=dict)
    global_properties: dict[str, str] = field(default_factory=dict)
    scoped_properties: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.global_properties or self.scoped_properties)

    def properties_for(self, event: str) -> dict[str, str]:
        scoped = self.scoped_properties.get(event)
        if scoped is None:
            return self.global_properties
        return {**self.global_properties, **scoped} if self.global_properties else scoped

    def apply(self, rows: list[EventRow]) -> list[EventRow]:
        """``rows`` with the mappings applied (a new row only where something changes)."""
        if not self:
            return rows
        events, out = self.events, []
        for row in rows:
            name = events.get(row.event, row.event)
            renames = self.properties_for(name)
            properties = row.properties
            if renames and not renames.keys().isdisjoint(properties):
                properties = properties_rename(properties, renames)
            if name is not row.event or properties is not row.properties:
                row = replace(row, event=name, properties=properties)
            out.append(row)
        return out


def properties_rename(properties: dict, renames: dict[str, str]) -> dict:
    """Keys renamed, in place in the order; an event's own value of a target key is kept (the source key stays)."""
    return {(renames[key] if key in renames and renames[key] not in properties else key): value
            for key, value in properties.items()}


def naming_from(mappings: Iterable[NameMapping]) -> Naming:
    naming = Naming()
    for mapping in mappings:
        if mapping.kind == Kind.EVENT:
            naming.events[mapping.source] = mapping.target
        elif mapping.scope:
            naming.scoped_properties.setdefault(mapping.scope, {})[mapping.source] = mapping.target
        else:
            naming.global_properties[mapping.source] = mapping.target
    return naming


def naming_current() -> Naming:
    """The mappings in force: one small query (each ingested batch runs it once)."""
    return naming_from(NameMapping.objects.only("kind", "source", "target", "scope"))


# Validation


@dataclass(frozen=True)
class Draft:
    kind: str
    source: str
    target: str
    scope: str = ""

    @classmethod
    def of(cls, *, kind, source, target, scope="") -> Draft:
        def clean(value):
            return value.strip() if type(value) is str else value
        return cls(kind=clean(kind), source=clean(source), target=clean(target), scope=clean(scope) or "")


def _name_problem(value, limit: int) -> str | None:
    if value is None or value == "":
        return _("This field is required.")
    if type(value) is not str:
        return _("Must be a string.")
    if len(value) > limit:
        return _("Must be at most %(limit)d characters.") % {"limit": limit}
    if "\x00" in value:
        return _("Must not contain NUL characters.")
    return None


def _event_known(name: str) -> bool:
    return name in CANONICAL_EVENTS or Event.objects.filter(event=name).exists()


def name_mapping_errors(draft: Draft, *, existing: list[NameMapping] | None = None) -> dict[str, list[str]]:
    """Field errors of a draft mapping against the mappings in force (``existing``), or an empty dict."""
    if existing is None:
        existing = list(NameMapping.objects.all())
    errors: dict[str, list[str]] = {}
    if draft.kind not in Kind.values:
        return {"kind": [_("Must be one of: event, property.")]}
    limit = MAX_NAME_LENGTH if draft.kind == Kind.EVENT else MAX_PROPERTY_LENGTH
    for name in ("source", "target"):
        problem = _name_problem(getattr(draft, name), limit)
        if problem:
            errors[name] = [problem]
    if draft.scope and (problem := _name_problem(draft.scope, MAX_NAME_LENGTH)):
        errors["scope"] = [problem]
    if errors:
        return errors
    if draft.source == draft.target:
        return {"target": [_("The canonical name is the name sent: there is nothing to map.")]}
    if draft.kind == Kind.EVENT:
        return _event_errors(draft, [m for m in existing if m.kind == Kind.EVENT])
    return _property_errors(draft, existing)


def _event_errors(draft: Draft, existing: list[NameMapping]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if draft.scope:
        errors["scope"] = [_("Only property mappings apply to one event; leave it empty.")]
    if draft.source in CANONICAL_EVENTS:
        errors.setdefault("source", []).append(
            _("“%(name)s” is a canonical event: the metrics read it, it cannot be renamed.") % {"name": draft.source})
    for mapping in existing:
        if mapping.source == draft.source:
            errors.setdefault("source", []).append(
                _("“%(source)s” is already mapped onto “%(target)s”; delete that mapping first.")
                % {"source": mapping.source, "target": mapping.target})
        if mapping.target == draft.source:
            errors.setdefault("source", []).append(
                _("“%(source)s” is the canonical name of “%(other)s”: a mapping may not chain onto another.")
                % {"source": draft.source, "other": mapping.source})
        if mapping.source == draft.target:
            errors.setdefault("target", []).append(
                _("“%(target)s” is itself mapped onto “%(other)s”: map onto the final name.")
                % {"target": draft.target, "other": mapping.target})
    if "target" not in errors and not _event_known(draft.target):
        errors["target"] = [_("“%(name)s” is neither a canonical event (%(canonical)s) nor an event already "
                              "received.") % {"name": draft.target, "canonical": ", ".join(CANONICAL_EVENTS)}]
    return errors


def _property_errors(draft: Draft, existing: list[NameMapping]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    renamed = {m.source: m.target for m in existing if m.kind == Kind.EVENT}
    if draft.scope in renamed:
        errors["scope"] = [_("“%(name)s” is renamed to “%(target)s” on arrival: name the canonical event.")
                           % {"name": draft.scope, "target": renamed[draft.scope]}]
    elif draft.scope and not _event_known(draft.scope):
        errors["scope"] = [_("“%(name)s” is neither a canonical event nor an event already received.")
                           % {"name": draft.scope}]
    # The rules an event of this scope meets: its own scope's and the global ones (for a global rule: all of them).
    overlapping = [m for m in existing if m.kind == Kind.PROPERTY and (not draft.scope or m.scope in ("", draft.scope))]
    same_scope = [m for m in overlapping if m.scope == draft.scope]
    for mapping in same_scope:
        if mapping.source == draft.source:
            errors.setdefault("source", []).append(
                _("“%(source)s” is already mapped onto “%(target)s” here; delete that mapping first.")
                % {"source": mapping.source, "target": mapping.target})
        elif mapping.target == draft.target:
            errors.setdefault("target", []).append(
                _("“%(other)s” is already mapped onto “%(target)s” here: two properties may not map onto one.")
                % {"other": mapping.source, "target": draft.target})
    for mapping in overlapping:
        if mapping.source == draft.target:
            errors.setdefault("target", []).append(
                _("“%(target)s” is itself mapped onto “%(other)s”: a mapping may not chain onto another.")
                % {"target": draft.target, "other": mapping.target})
        if mapping.target == draft.source:
            errors.setdefault("source", []).append(
                _("“%(source)s” is the canonical name of “%(other)s”: a mapping may not chain onto another.")
                % {"source": draft.source, "other": mapping.source})
    return errors


# Changes


def name_mapping_create(*, draft: Draft, created_by=None) -> NameMapping:
    with transaction.atomic():
        # One administrator's change at a time, so two drafts checked against the same rules cannot form a chain.
        existing = list(NameMapping.objects.select_for_update())
        errors = name_mapping_errors(draft, existing=existing)
        if errors:
            raise ApplicationError(_("The mapping was not saved."), errors=errors)
        try:
            with transaction.atomic():
                return NameMapping.objects.create(kind=draft.kind, source=draft.source, target=draft.target,
                                                  scope=draft.scope, created_by=created_by)
        except IntegrityError:
            raise ApplicationError(_("The mapping was not saved."), errors={
                "source": [_("This name is already mapped.")]}) from None


def name_mapping_delete(*, mapping: NameMapping) -> None:
    mapping.delete()


# Preview: what a mapping changes, measured on the events received in the last days


def preview_since(days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def _scope_events(scope: str, naming: Naming) -> list[str]:
    """The stored names that arrive as ``scope`` once renamed: itself and the SDK names mapped onto it."""
    return [scope, *sorted(source for source, target in naming.events.items() if target == scope)]


def _scope_filter(mapping: Draft | NameMapping, naming: Naming) -> Q:
    """The stored events a mapping applies to if they arrived now (with the other mappings in force)."""
    if mapping.kind == Kind.EVENT:
        return Q(event=mapping.source)
    if mapping.scope:
        return Q(event__in=_scope_events(mapping.scope, naming), properties__has_key=mapping.source)
    # A global rule: not on events whose own scope maps the key elsewhere.
    shadowed = [scope for scope, renames in naming.scoped_properties.items() if mapping.source in renames]
    scope = Q(properties__has_key=mapping.source)
    if shadowed:
        scope &= ~Q(event__in=[name for scope in shadowed for name in _scope_events(scope, naming)])
    return scope


def _changed_filter(mapping: Draft | NameMapping, naming: Naming) -> Q:
    """The stored events a mapping would change: in its scope and, for a property, without the target key."""
    scope = _scope_filter(mapping, naming)
    return scope if mapping.kind == Kind.EVENT else scope & ~Q(properties__has_key=mapping.target)


def name_mappings_counts(mappings: list[NameMapping], *, days: int, now: datetime | None = None) -> dict[int, int]:
    """How many events of the last ``days`` each saved mapping would have changed: one query."""
    if not mappings:
        return {}
    naming = naming_from(mappings)
    counts = Event.objects.filter(timestamp__gte=preview_since(days, now)).aggregate(**{
        f"m{mapping.pk}": Count("id", filter=_changed_filter(mapping, naming)) for mapping in mappings})
    return {mapping.pk: counts[f"m{mapping.pk}"] for mapping in mappings}


def name_mapping_preview(*, draft: Draft, days: int = PREVIEW_DEFAULT_DAYS, now: datetime | None = None) -> dict:
    """What saving ``draft`` would change, on the events received in the last ``days``: how many events (of how many),
    how many people, and examples before and after. Raises the draft's field errors first."""
    existing = list(NameMapping.objects.all())
    errors = name_mapping_errors(draft, existing=existing)
    if errors:
        raise ApplicationError(_("The mapping cannot be previewed."), errors=errors)
    since = preview_since(days, now)
    naming = naming_from([*existing, NameMapping(kind=draft.kind, source=draft.source, target=draft.target,
                                                 scope=draft.scope)])
    window = Event.objects.filter(timestamp__gte=since)
    changed = _changed_filter(draft, naming)
    aggregates = {"events": Count("id"), "changed": Count("id", filter=changed),
                  "people": Count("person_id", filter=changed, distinct=True)}
    if draft.kind == Kind.PROPERTY:  # events that carry both keys keep their own target value (and the source key)
        aggregates["kept"] = Count("id", filter=_scope_filter(draft, naming) & Q(properties__has_key=draft.target))
    figures = {"kept": 0, **window.aggregate(**aggregates)}
    examples = []
    for event in window.filter(changed).order_by("-timestamp", "-id")[:PREVIEW_EXAMPLES]:
        row = EventRow(uuid=event.uuid, event=event.event, distinct_id=event.distinct_id, timestamp=event.timestamp,
                       properties=event.properties or {})
        after = naming.apply([row])[0]
        examples.append({"distinct_id": event.distinct_id, "timestamp": event.timestamp,
                         "before": {"event": row.event, "properties": row.properties},
                         "after": {"event": after.event, "properties": after.properties}})
    return {"days": days, "since": since, "events": figures["events"], "changed": figures["changed"],
            "people": figures["people"], "target_kept": figures["kept"], "examples": examples}
