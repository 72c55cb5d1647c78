"""Rule-based segments: a nested AND/OR tree compiled to ONE query over customers, rebuilt set-based.

Rules (JSON)::

    {"op": "and" | "or", "conditions": [<condition or group>, ...]}          # a group, nested up to 5 deep
    {"field": "stage", "operator": "in", "value": ["active", "at_risk"]}      # a customer field
    {"field": "orders", "operator": "gte", "value": 2}
    {"field": "signed_up_at", "operator": "within_days", "value": 7}          # dates: within_days / before_days /
                                                                              #        is_set / not_set
    {"event": "order_paid", "operator": "gte", "value": 2, "days": 30}        # behaviour: did E ≥ 2 times in 30 days

Behaviour conditions become ``person_id IN (grouped events subquery)`` (analytics selector), so the whole tree is one
SQL statement; ``segment_rebuild`` stores the members by writing only the difference from the last build (one DELETE,
one INSERT … SELECT) and records size and build time.
An empty group matches everyone (and) or no one (or).

A node is a condition when it names a ``field`` or an ``event``, else a group. What a person writing rules is told
(``segment_rules_check``: the preview and saving) is stricter than what a rebuild compiles: a key the node does not
take (``{"field": "orders", "op": "gte"}`` — ``op`` is a group's, a condition's is ``operator``) is an error at its
path, and so is a negative number for a field that cannot be negative (orders, spend, scores; days and times
already are). A saved segment is rebuilt without these checks, so a stray key saved before never breaks it.
"""

from __future__ import annotations

import difflib
import time as _time
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.selectors import event_names_unknown, event_person_ids
from ops_platform.core.exceptions import ApplicationError
from users.models import Customer, RfmSegment, Segment, SegmentMember, SegmentSize, Stage

MAX_DEPTH = 5
MAX_CONDITIONS = 50
CHOICE_FIELDS = {"stage": {s.value for s in Stage}, "rfm_segment": {s.value for s in RfmSegment} | {""}}
TEXT_FIELDS = {"first_channel", "utm_source", "utm_medium", "utm_campaign", "referrer", "distinct_id"}
NUMBER_FIELDS = {"orders", "spend", "recency_score", "frequency_score", "monetary_score"}
DATE_FIELDS = {"first_seen_at", "last_seen_at", "signed_up_at", "first_order_at", "last_order_at"}
FIELDS = set(CHOICE_FIELDS) | TEXT_FIELDS | NUMBER_FIELDS | DATE_FIELDS
TEXT_OPERATORS = {"eq", "ne", "in", "not_in"}
NUMBER_OPERATORS = {"eq", "ne", "gt", "gte", "lt", "lte"}
DATE_OPERATORS = {"within_days", "before_days", "is_set", "not_set"}
COUNT_OPERATORS = {"eq", "gte", "lte"}
# The number fields that count or sum something: a negative value is a mistake (orders ≥ -1 is everyone).
NON_NEGATIVE_FIELDS = {"orders", "spend", "recency_score", "frequency_score", "monetary_score"}
# The keys each kind of node takes, and the usual slip of each (a group's op in a condition, and back).
GROUP_KEYS = ("op", "conditions")
FIELD_KEYS = ("field", "operator", "value")
EVENT_KEYS = ("event", "operator", "value", "days")
KEY_SLIPS = {"op": "operator", "operator": "op"}
EVENT_NAME_MAX = 200
# Explicit always-true / always-false conditions: an empty Q() vanishes when combined (Q() | X is X), which would
# turn "everyone or X" into "X" — the property test found that.
EVERYONE = Q(person_id__isnull=False)
NO_ONE = Q(pk__in=[])


class RuleError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def _number(value, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RuleError(path, _("Give a number."))
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise RuleError(path, _("Give a number.")) from error
    if not number.is_finite() or abs(number) > Decimal("1e12"):
        raise RuleError(path, _("Give a number."))
    return number


def _days(value, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= 3650):
        raise RuleError(path, _("Give a whole number of days between 0 and 3650."))
    return value


def _text_or_none(value) -> str | None:
    """A rule's name-like part (field, operator) as text; anything else (a list, an object) is no name at all."""
    return value if isinstance(value, str) else None


def _keys_check(node: dict, path: str, keys: tuple[str, ...]) -> None:
    """Refuse the first key ``node`` does not take, at its own path, naming the key it most likely meant."""
    for key in node:
        if key in keys:
            continue
        name = str(key)
        meant = KEY_SLIPS.get(name) if KEY_SLIPS.get(name) in keys else next(
            iter(difflib.get_close_matches(name, keys, n=1, cutoff=0.6)), None)
        if meant:
            raise RuleError(f"{path}.{name}", _("Unknown key “%(key)s”; use %(meant)s.") % {"key": name,
                                                                                            "meant": meant})
        raise RuleError(f"{path}.{name}", _("Unknown key “%(key)s”; this part takes %(keys)s.") % {
            "key": name, "keys": ", ".join(keys)})


def _field_q(rule: dict, path: str, now: datetime, strict: bool = False) -> Q:
    field, operator, value = _text_or_none(rule["field"]), _text_or_none(rule.get("operator")), rule.get("value")
    if field not in FIELDS:
        raise RuleError(f"{path}.field", _("Unknown field."))
    if field in DATE_FIELDS:
        if operator not in DATE_OPERATORS:
            raise RuleError(f"{path}.operator", _("Use within_days, before_days, is_set or not_set."))
        if operator == "is_set":
            return Q(**{f"{field}__isnull": False})
        if operator == "not_set":
            return Q(**{f"{field}__isnull": True})
        cutoff = now - timedelta(days=_days(value, f"{path}.value"))
        return Q(**{f"{field}__gte": cutoff}) if operator == "within_days" else Q(**{f"{field}__lt": cutoff})
    if field in NUMBER_FIELDS:
        if operator not in NUMBER_OPERATORS:
            raise RuleError(f"{path}.operator", _("Use eq, ne, gt, gte, lt or lte."))
        number = _number(value, f"{path}.value")
        if strict and field in NON_NEGATIVE_FIELDS and number < 0:
            raise RuleError(f"{path}.value", _("Give a number of 0 or more: %(field)s cannot be negative.") % {
                "field": field})
        if operator == "eq":
            return Q(**{field: number})
        if operator == "ne":
            return ~Q(**{field: number})
        return Q(**{f"{field}__{operator}": number})
    if operator not in TEXT_OPERATORS:
        raise RuleError(f"{path}.operator", _("Use eq, ne, in or not_in."))
    values = value if operator in ("in", "not_in") else [value]
    if not isinstance(values, list) or not values or len(values) > 100 or not all(
            isinstance(v, str) and len(v) <= 200 and "\x00" not in v for v in values):
        raise RuleError(f"{path}.value", _("Give text (a list of 1–100 texts for in / not_in)."))
    if field in CHOICE_FIELDS and not set(values) <= CHOICE_FIELDS[field]:
        raise RuleError(f"{path}.value", _("Unknown choice: %(values)s") % {
            "values": ", ".join(sorted(set(values) - CHOICE_FIELDS[field]))})
    matched = Q(**{f"{field}__in": values})
    return ~matched if operator in ("ne", "not_in") else matched


def _event_q(rule: dict, path: str, now: datetime) -> Q:
    event, operator, value = rule["event"], _text_or_none(rule.get("operator")), rule.get("value")
    if not isinstance(event, str) or not event or len(event) > EVENT_NAME_MAX or "\x00" in event:
        raise RuleError(f"{path}.event", _("Give an event name."))
    if operator not in COUNT_OPERATORS:
        raise RuleError(f"{path}.operator", _("Use eq, gte or lte."))
    if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= 1_000_000):
        raise RuleError(f"{path}.value", _("Give a whole number of times."))
    since = None
    if rule.get("days") is not None:
        since = now - timedelta(days=_days(rule["days"], f"{path}.days"))
    if operator == "gte":
        return EVERYONE if value == 0 else Q(person_id__in=event_person_ids(event=event, since=since, min_count=value))
    if operator == "lte":
        return ~Q(person_id__in=event_person_ids(event=event, since=since, min_count=value + 1))
    if value == 0:
        return ~Q(person_id__in=event_person_ids(event=event, since=since, min_count=1))
    return Q(person_id__in=event_person_ids(event=event, since=since, min_count=value, max_count=value))


def _compile(node, path: str, depth: int, now: datetime, counter: list[int], strict: bool = False) -> Q:
    """``strict``: also refuse keys a node does not take and negative counts or amounts (what a person writing rules
    is told, ``segment_rules_check``); a rebuild compiles without (module docstring)."""
    if not isinstance(node, dict):
        raise RuleError(path, _("Expected an object."))
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise RuleError(path, _("At most 50 conditions."))
    # a condition names a field or an event; only then is it a group (an "op" in a condition is a slip, not a group)
    if "field" in node:
        if strict:
            _keys_check(node, path, FIELD_KEYS)
        return _field_q(node, path, now, strict)
    if "event" in node:
        if strict:
            _keys_check(node, path, EVENT_KEYS)
        return _event_q(node, path, now)
    if "op" in node or "conditions" in node:
        if strict:
            _keys_check(node, path, GROUP_KEYS)
        if depth >= MAX_DEPTH:
            raise RuleError(path, _("Groups nest at most 5 deep."))
        if _text_or_none(node.get("op")) not in ("and", "or"):
            raise RuleError(f"{path}.op", _("Use and or or."))
        children = node.get("conditions")
        if not isinstance(children, list):
            raise RuleError(f"{path}.conditions", _("Expected a list."))
        parts = [_compile(child, f"{path}.conditions[{i}]", depth + 1, now, counter, strict)
                 for i, child in enumerate(children)]
        if not parts:
            return EVERYONE if node["op"] == "and" else NO_ONE
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node["op"] == "and" else combined | part
        return combined
    raise RuleError(path, _("Give op (a group), field or event."))


def segment_rules_compile(*, rules, now: datetime | None = None, strict: bool = False) -> Q:
    """Validate and compile a rule tree; bad rules raise ApplicationError with the path of the problem. ``strict``
    (what ``segment_rules_check`` asks for) also refuses unknown keys and negative counts or amounts."""
    try:
        return _compile(rules, "rules", 0, now or timezone.now(), [0], strict)
    except RuleError as error:
        raise ApplicationError(_("The segment rules are not valid."), errors={"rules": [str(error)]}) from error


def _rule_events(node, path: str) -> list[tuple[str, str]]:
    """(path, event name) of every behaviour condition of a (compiled, so well-formed) rule tree."""
    if "field" in node:
        return []
    if "event" in node:
        return [(f"{path}.event", node["event"])]
    return [pair for i, child in enumerate(node["conditions"])
            for pair in _rule_events(child, f"{path}.conditions[{i}]")]


def segment_rules_check(*, rules) -> Q:
    """What a person writing rules is told (the preview and saving): ``segment_rules_compile``'s checks, and an event
    never stored — 0 matches, silently, before — is refused with the nearest stored names, beside its condition
    (the reports' unknown-name 400, the same words); a key a node does not take (``op`` in a condition) and a
    negative count or amount are refused at their path. A saved segment is rebuilt without these checks: an event
    that stops being sent makes it smaller, not broken."""
    compiled = segment_rules_compile(rules=rules, strict=True)
    unknown = event_names_unknown(names=_rule_events(rules, "rules"))
    if unknown:
        raise ApplicationError(_("The segment rules are not valid."), errors={"rules": [
            f"{path}: {message}" for path, messages in unknown.items() for message in messages]})
    return compiled


def segment_queryset(*, rules, now: datetime | None = None) -> QuerySet[Customer]:
    """The customers matching ``rules`` — one SQL query when evaluated."""
    return Customer.objects.filter(segment_rules_compile(rules=rules, now=now))


def segment_preview(*, rules) -> int:
    return Customer.objects.filter(segment_rules_check(rules=rules)).count()


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ApplicationError(_("Give the segment a name."), errors={"name": [_("1–120 characters.")]})
    return name


def segment_save(*, name: str, rules, description: str = "", actor=None, segment: Segment | None = None) -> Segment:
    """Create or change a segment (rules are validated first), then build it."""
    name = _clean_name(name)
    segment_rules_check(rules=rules)
    duplicate = Segment.objects.filter(name=name).exclude(pk=segment.pk if segment else None)
    if duplicate.exists():
        raise ApplicationError(_("A segment with this name exists."), errors={"name": [_("Already used.")]})
    segment = segment or Segment(created_by=actor)
    segment.name, segment.rules, segment.description = name, rules, description
    segment.save()
    return segment_rebuild(segment_id=segment.pk)


BUILD_TABLE = "users_segment_build"


def _members_write(*, segment_id: int, select_sql: str, params: list) -> tuple[int, int, int]:
    """Make the stored members of a segment equal to the rows of ``select_sql`` (one ``person_id`` column), writing
    only the difference: the new members go once into a temporary table, then one DELETE of the members who left and
    one INSERT of those who joined (in key order). An unchanged segment writes nothing. Returns (size, added,
    removed)."""
    table = SegmentMember._meta.db_table
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        # dropped here and after use: ON COMMIT DROP would not fire when the caller's transaction is still open
        cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if postgresql else 'temp'}.{BUILD_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {BUILD_TABLE} (person_id bigint NOT NULL"
                       f"{'' if postgresql else ' PRIMARY KEY'})")
        cursor.execute(f"INSERT INTO {BUILD_TABLE} (person_id) SELECT m.person_id FROM ({select_sql}) m",  # noqa: S608
                       params)
        size = cursor.rowcount
        if postgresql:
            cursor.execute(f"ANALYZE {BUILD_TABLE}")  # real row counts for the anti-joins below
        cursor.execute(f"DELETE FROM {table} WHERE segment_id = %s AND NOT EXISTS ("  # noqa: S608
                       f"SELECT 1 FROM {BUILD_TABLE} n WHERE n.person_id = {table}.customer_id)", [segment_id])
        removed = cursor.rowcount
        cursor.execute(f"INSERT INTO {table} (segment_id, customer_id) SELECT %s, n.person_id "  # noqa: S608
                       f"FROM {BUILD_TABLE} n WHERE NOT EXISTS (SELECT 1 FROM {table} o "
                       f"WHERE o.segment_id = %s AND o.customer_id = n.person_id) ORDER BY n.person_id",
                       [segment_id, segment_id])
        added = cursor.rowcount
        cursor.execute(f"DROP TABLE {BUILD_TABLE}")
    return size, added, removed


def segment_rebuild(*, segment_id: int, now: datetime | None = None) -> Segment:
    """Store the members (only the difference from the last build is written) and today's size; records the build
    time."""
    now = now or timezone.now()
    started = _time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '128MB'")
                cursor.execute("SET LOCAL jit = off")
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        members = segment_queryset(rules=segment.rules, now=now).values("person_id")
        try:
            select_sql, params = members.query.sql_with_params()
        except EmptyResultSet:  # rules that can match no one (an empty "or")
            SegmentMember.objects.filter(segment=segment).delete()
            size = 0
        else:
            size, _added, _removed = _members_write(segment_id=segment.pk, select_sql=select_sql, params=list(params))
        seconds = round(_time.perf_counter() - started, 3)
        segment.size, segment.built_at, segment.build_seconds = size, now, seconds
        segment.save(update_fields=["size", "built_at", "build_seconds", "updated_at"])
        SegmentSize.objects.update_or_create(segment=segment, date=timezone.localdate(now),
                                             defaults={"size": size, "build_seconds": seconds})
    return segment


def segments_rebuild_all(*, now: datetime | None = None) -> list[int]:
    return [segment_rebuild(segment_id=pk, now=now).pk for pk in Segment.objects.order_by("pk").values_list(
        "pk", flat=True)]


def segment_delete(*, segment_id: int) -> None:
    if not Segment.objects.filter(pk=segment_id).delete()[0]:
        raise ApplicationError(_("No such segment."), status_code=404, code="not_found")
