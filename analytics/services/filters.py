"""Report filters on event properties — the one parser and the one compiler for every report.

Syntax (DESIGN.md, "Stable contracts"): ``where=properties.<key>:<op>:<value>``, repeatable, all must hold; ``<op>``
one of ``OPERATORS``; ``in``/``not_in`` take values separated by ``|``; ``is_set``/``is_not_set`` take none
(``where=properties.coupon_code:is_set``). A key cannot hold ``:``.

Semantics, the same on PostgreSQL and SQLite (the brute-force reference in tests/analytics/reports_reference.py says
the same in Python):

- the **text** of a property is its string, or the JSON text of any other value (``12``, ``12.5``, ``true``); a
  property that is missing or JSON ``null`` has no text;
- ``eq`` / ``in``: the text equals the value / one of the values; ``neq`` / ``not_in`` are their negations, so an
  event without the property passes them (PostHog's "is not" does the same); ``contains``: the text holds the value
  (case-sensitive);
- ``gt``, ``gte``, ``lt``, ``lte`` compare **numbers**: only a JSON number (not a numeric string, not a boolean)
  passes, compared with the value read as a number;
- ``is_set``: the property is present and not ``null``; ``is_not_set``: the opposite.

Everything compiles to Django expressions (``JsonText``, ``JsonNumber``), so a filter is a ``Q`` the ORM runs on
both databases, and ``where_sql`` gives the same condition as SQL text for the engines' hand-written statements.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import F, FloatField, Func, Q, TextField, Value
from django.utils.translation import gettext as _

from analytics.models import ColumnProperty, Event

OPERATORS = ("eq", "neq", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte")
VALUELESS_OPERATORS = ("is_set", "is_not_set")
PROPERTY_PREFIX = "properties."
MAX_FILTERS = 10
MAX_VALUE_LENGTH = 500
MAX_KEY_LENGTH = 200
NONE_VALUE = "(none)"  # a breakdown value for a missing, null or empty property
OTHER_VALUE = "(other)"  # the values beyond a breakdown's top N


def top_values(measures: dict, limit: int) -> tuple[list[str], bool]:
    """A breakdown's kept values — the ``limit`` with the largest measure (missing or NaN last; ties: the smaller
    value by code point first), in that order — and whether any value is left for ``"(other)"``. The one ranking of
    every report's breakdown (trends, the funnel)."""
    def order(item):
        measure = item[1]
        missing = measure is None or measure != measure  # NaN
        return missing, -(0 if missing else measure), item[0]

    ranked = [value for value, _measure in sorted(measures.items(), key=order)]
    return ranked[:limit], len(ranked) > limit


def top_codes(measures: np.ndarray, present: np.ndarray, limit: int) -> tuple[np.ndarray, bool]:
    """``top_values`` over arrays: the codes of the ``limit`` values with the largest measure among those ``present``
    (NaN last; ties: the smaller code first, so codes in the values' sorted order rank ties as ``top_values`` does),
    and whether any is left for ``"(other)"``."""
    codes = np.flatnonzero(present)
    measure = measures[codes]
    missing = np.isnan(measure)
    order = np.lexsort((codes, np.where(missing, 0.0, -measure), missing))
    return codes[order[:limit]], len(codes) > limit


class FilterError(ValueError):
    """A ``where`` (or breakdown, or property) the reports cannot read; the message says why, for the user."""


@dataclass(frozen=True)
class PropertyFilter:
    key: str
    op: str
    values: tuple[str, ...] = ()  # one for eq/neq/contains, one or more for in/not_in, none for is_set/is_not_set
    number: float | None = None  # gt…lte

    def as_param(self) -> str:
        """Back to the query-string form (saved insights, export links)."""
        tail = "" if self.op in VALUELESS_OPERATORS else ":" + "|".join(self.values)
        return f"{PROPERTY_PREFIX}{self.key}:{self.op}{tail}"


def property_key(text: str, *, aliases: Sequence[str] = ()) -> str:
    """``properties.<key>`` → key (``aliases`` are bare names also taken, ``channel`` for breakdowns)."""
    text = (text or "").strip()
    if text in aliases:
        return text
    if not text.startswith(PROPERTY_PREFIX) or not text[len(PROPERTY_PREFIX):]:
        raise FilterError(_("Name an event property as properties.<key>, for example properties.merchant_id."))
    key = text[len(PROPERTY_PREFIX):]
    if len(key) > MAX_KEY_LENGTH or "\x00" in key or ":" in key:
        raise FilterError(_("A property key has at most 200 characters and no “:”."))
    return key


def where_parse(items: Iterable[str]) -> list[PropertyFilter]:
    """Each ``properties.<key>:<op>[:<value>]`` as a ``PropertyFilter``; ``FilterError`` naming the first bad one."""
    filters = []
    for raw in items:
        item = str(raw).strip()
        if not item:
            continue
        parts = item.split(":", 2)
        if len(parts) < 2:
            raise FilterError(_("“%(item)s” is not a filter: write properties.<key>:<op>:<value>, for example "
                                "properties.merchant_id:eq:m12.") % {"item": item[:80]})
        key = property_key(parts[0])
        op = parts[1].strip()
        if op not in OPERATORS:
            raise FilterError(_("“%(op)s” is not a filter operator; use one of %(ops)s.")
                              % {"op": op[:40], "ops": ", ".join(OPERATORS)})
        value = parts[2] if len(parts) == 3 else None
        if "\x00" in (value or ""):
            raise FilterError(_("A filter value cannot hold a null character."))
        if op in VALUELESS_OPERATORS:
            if value not in (None, ""):
                raise FilterError(_("%(op)s takes no value: write properties.%(key)s:%(op)s.") % {"op": op, "key": key})
            filters.append(PropertyFilter(key=key, op=op))
            continue
        if value is None or value == "":
            raise FilterError(_("The filter on %(key)s needs a value after “%(op)s:”.") % {"key": key, "op": op})
        if len(value) > MAX_VALUE_LENGTH:
            raise FilterError(_("A filter value has at most 500 characters."))
        if op in NUMERIC_OPERATORS:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise FilterError(_("%(op)s compares numbers: “%(value)s” is not one.") % {"op": op,
                                                                                          "value": value[:40]})
            filters.append(PropertyFilter(key=key, op=op, values=(value,), number=number))
        elif op in ("in", "not_in"):
            filters.append(PropertyFilter(key=key, op=op, values=tuple(dict.fromkeys(value.split("|")))))
        else:
            filters.append(PropertyFilter(key=key, op=op, values=(value,)))
    if len(filters) > MAX_FILTERS:
        raise FilterError(_("At most 10 filters at a time."))
    return filters


# Expressions


def _sqlite_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JsonText(Func):
    """The text of property ``key`` (NULL when missing or JSON null): ``properties ->> key`` on PostgreSQL."""

    output_field = TextField()

    def __init__(self, key: str, column: str = "properties"):
        self.key = key
        super().__init__(F(column))

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ->> %s)", [*params, self.key]

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = _sqlite_path(self.key)
        return (f"(CASE json_type({sql}, %s) WHEN 'null' THEN NULL WHEN 'true' THEN 'true' WHEN 'false' "
                f"THEN 'false' ELSE CAST(json_extract({sql}, %s) AS TEXT) END)"), [*params, path, *params, path]

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - PostgreSQL and SQLite only
        raise NotImplementedError(connection.vendor)


class JsonNumber(Func):
    """Property ``key`` as a float when it is a JSON number, else NULL."""

    output_field = FloatField()

    def __init__(self, key: str, column: str = "properties"):
        self.key = key
        super().__init__(F(column))

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (f"(CASE WHEN jsonb_typeof({sql} -> %s) = 'number' THEN ({sql} ->> %s)::float8 END)",
                [*params, self.key, *params, self.key])

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = _sqlite_path(self.key)
        return (f"(CASE WHEN json_type({sql}, %s) IN ('integer', 'real') THEN CAST(json_extract({sql}, %s) AS REAL) "
                "END)"), [*params, path, *params, path]

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover
        raise NotImplementedError(connection.vendor)


class _Contains(Func):
    """``instr(text, value) > 0`` / ``strpos``: case-sensitive, no LIKE wildcards to escape."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="strpos", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="instr", **extra)


def filter_q(item: PropertyFilter, alias: str) -> Q:
    """The condition of one filter, on the annotation names ``alias``_t (text) and ``alias``_n (number)."""
    text, number = f"{alias}_t", f"{alias}_n"
    if item.op == "eq":
        return Q(**{text: item.values[0]})
    if item.op == "neq":
        return ~Q(**{text: item.values[0]}) | Q(**{f"{text}__isnull": True})
    if item.op == "in":
        return Q(**{f"{text}__in": item.values})
    if item.op == "not_in":
        return ~Q(**{f"{text}__in": item.values}) | Q(**{f"{text}__isnull": True})
    if item.op == "contains":
        return Q(**{f"{alias}_c__gt": 0})
    if item.op in NUMERIC_OPERATORS:
        return Q(**{f"{number}__{item.op}": item.number})
    if item.op == "is_set":
        return Q(**{f"{text}__isnull": False})
    return Q(**{f"{text}__isnull": True})


def events_where(events, filters: Sequence[PropertyFilter]):
    """The queryset of events with every filter applied (aliases only: nothing is selected)."""
    for index, item in enumerate(filters):
        alias = f"_w{index}"
        aliases = {f"{alias}_t": JsonText(item.key)}
        if item.op in NUMERIC_OPERATORS:
            aliases[f"{alias}_n"] = JsonNumber(item.key)
        if item.op == "contains":
            aliases[f"{alias}_c"] = _Contains(JsonText(item.key), Value(item.values[0]))
        events = events.alias(**aliases).filter(filter_q(item, alias))
    return events


def events_restricted(events, *, where: Sequence[PropertyFilter] = (), people=None, exclude_people=None):
    """``events`` with the filters, and kept to ``people`` / away from ``exclude_people`` (lazy subqueries of person
    ids, e.g. a segment's members): what every report applies to every event it reads."""
    events = events_where(events, where)
    if people is not None:
        events = events.filter(person_id__in=people)
    if exclude_people is not None:
        events = events.exclude(person_id__in=exclude_people)
    return events


def restricted(*, where=(), people=None, exclude_people=None) -> bool:
    return bool(where) or people is not None or exclude_people is not None


def where_sql(where: Sequence[PropertyFilter] = (), *, people=None, exclude_people=None) -> tuple[str, list]:
    """The filters (and the people restriction) as one SQL condition on the unaliased ``analytics_event`` table
    (``TRUE`` when there is none), with its parameters, for the engines' hand-written statements: compiled by the
    ORM from ``events_restricted``, so it says exactly what the ORM paths say."""
    if not restricted(where=where, people=people, exclude_people=exclude_people):
        return "TRUE" if connection.vendor == "postgresql" else "1", []
    query = events_restricted(Event.objects.all(), where=where, people=people, exclude_people=exclude_people).query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(query.where)
    return f"({sql})", list(params)


# The same filters on event columns (analytics/services/columns.py): each is decided once per dictionary entry of its
# key, then looked up per event.


def _entry_passes(item: PropertyFilter, texts: list, numbers: np.ndarray) -> np.ndarray:
    """Per dictionary entry (entry 0: the key missing or null), whether an event with it passes ``item``."""
    if item.op in NUMERIC_OPERATORS:
        with np.errstate(invalid="ignore"):
            return {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}[item.op](
                numbers, item.number)
    present = np.array([text is not None for text in texts], bool)
    if item.op == "is_set":
        return present
    if item.op == "is_not_set":
        return ~present
    if item.op == "contains":
        return np.array([text is not None and item.values[0] in text for text in texts], bool)
    chosen = set(item.values)
    hit = np.array([text in chosen for text in texts], bool) & present
    return ~hit if item.op in ("neq", "not_in") else hit


def where_mask(columns, where: Sequence[PropertyFilter]) -> np.ndarray:
    """Which of ``columns``' events pass every filter (their properties must have been read: ``columns_read``'s
    ``properties``): the numpy twin of ``events_where``."""
    mask = np.ones(len(columns), bool)
    for item in where:
        column = columns.properties[item.key]
        if column.direct is not None:  # read for its numbers alone (``where_number_keys``): compared per event
            mask &= _entry_passes(item, column.texts, column.direct)
        elif item.op in ("is_set", "is_not_set"):
            mask &= column.present() if item.op == "is_set" else ~column.present()
        elif item.op in ("eq", "in", "neq", "not_in"):  # the values asked for looked up, not every value seen
            hit = column.text_in(item.values)
            mask &= ~hit if item.op in ("neq", "not_in") else hit
        else:
            mask &= _entry_passes(item, column.texts, column.numbers)[column.codes]
    return mask


def people_ids(people) -> np.ndarray:
    """The person ids of a lazy restriction (a segment's members) as a sorted array, for ``np.isin``."""
    sql, params = people.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return np.sort(np.fromiter((row[0] for row in cursor.fetchall()), np.int64))


def restricted_mask(columns, *, where: Sequence[PropertyFilter] = (), people=None, exclude_people=None) -> np.ndarray:
    """Which of ``columns``' events pass the filters and are kept by ``people`` / away from ``exclude_people``: the
    numpy twin of ``events_restricted`` (the persons are read when there is a people restriction)."""
    mask = where_mask(columns, where)
    if people is not None:
        mask &= np.isin(columns.persons, people_ids(people))
    if exclude_people is not None:
        mask &= ~np.isin(columns.persons, people_ids(exclude_people))
    return mask


def breakdown_labels(texts: list) -> tuple[np.ndarray, list[str]]:
    """A dictionary's entries (``texts[c]``, None for missing) as breakdown values: each entry's code into the sorted
    distinct values returned, "(none)" for a missing, null or empty text (a string and a number of the same text are
    one value)."""
    labels = [NONE_VALUE if text is None or text == "" else text for text in texts]
    values, codes = np.unique(np.array(labels, dtype=object), return_inverse=True)
    return codes.astype(np.int64), [str(value) for value in values]


def where_keys(where: Sequence[PropertyFilter]) -> list[str]:
    """The keys the filters read by their text (``columns_read``'s ``properties``: dictionary-encoded)."""
    return sorted({item.key for item in where} - set(where_number_keys(where)))


def where_number_keys(where: Sequence[PropertyFilter]) -> list[str]:
    """The keys whose every filter compares numbers (gt…lte): read for their numbers alone (``columns_read``'s
    ``numbers``: no texts, no dictionary), a float per event."""
    numeric = {item.key for item in where if item.op in NUMERIC_OPERATORS}
    return sorted(numeric - {item.key for item in where if item.op not in NUMERIC_OPERATORS})


# Known names: unknown ones are answered with the nearest known ones (analysts mistype ``order_payed``).

PROPERTY_SAMPLE = 5000  # events per name whose keys are read to list the known properties


def property_keys(*, events: Sequence[str], sample: int = PROPERTY_SAMPLE) -> list[str]:
    """The property keys seen on ``sample`` stored events of each name (any ``sample``, the first the index gives: the
    suggestions and the 400's list; a key missing from them is looked up exactly before it is refused)."""
    if not events:
        return []
    keys: set[str] = set()
    with connection.cursor() as cursor:
        for name in events:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT DISTINCT k FROM (SELECT properties FROM analytics_event WHERE event = %s "
                               "LIMIT %s) AS e, jsonb_object_keys(e.properties) AS k", [name, sample])
            else:
                cursor.execute("SELECT DISTINCT j.key FROM (SELECT properties FROM analytics_event WHERE event = %s "
                               "LIMIT %s) AS e, json_each(e.properties) AS j", [name, sample])
            keys.update(row[0] for row in cursor.fetchall())
    return sorted(keys)


def _property_built(*, events: Sequence[str], key: str) -> bool:
    """Whether the event columns hold ``key`` for an event of these names (an index probe: the usual answer, asked
    first)."""
    return ColumnProperty.objects.filter(event__in=list(events), key=key).exists()


def _property_exists(*, events: Sequence[str], key: str) -> bool:
    """Whether any stored event of these names carries ``key`` (a scan of those names' events: asked only when the
    sample did not show the key)."""
    return Event.objects.filter(event__in=list(events)).alias(k=JsonText(key)).filter(k__isnull=False).exists()


def nearest(name: str, known: Iterable[str], *, count: int = 5) -> list[str]:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=count, cutoff=0.5)
    return close or known[:count]


def unknown_names(*, events: Sequence[tuple[str, str]], properties: Sequence[tuple[str, str]],
                  known_events: Sequence[str]) -> dict[str, list[str]]:
    """Field errors for event names never stored and for properties that no stored event of the report's events
    carries; each message lists the nearest known names. ``events`` and ``properties``: (field, name) pairs."""
    errors: dict[str, list[str]] = {}
    known = set(known_events)
    for field, name in dict.fromkeys(events):
        if name not in known:
            errors.setdefault(field, []).append(
                _("No event named “%(name)s” has been stored. Nearest: %(names)s.")
                % {"name": name, "names": ", ".join(nearest(name, known_events)) or "—"})
    present = list(dict.fromkeys(name for _field, name in events if name in known))
    if present and properties:
        keys = None
        for field, key in dict.fromkeys(properties):
            if _property_built(events=present, key=key):
                continue
            keys = property_keys(events=present) if keys is None else keys
            if key in keys or _property_exists(events=present, key=key):
                continue
            errors.setdefault(field, []).append(
                _("No %(events)s event has a property “%(key)s”. Nearest: %(names)s.")
                % {"events": "/".join(present), "key": key,
                   "names": ", ".join(f"{PROPERTY_PREFIX}{k}" for k in nearest(key, keys)) or "—"})
    return errors
