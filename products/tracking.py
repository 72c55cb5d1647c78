"""Tracking plans (打點) as data: validation of a plan's events, the diff between two versions, JSON Schema."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.patterns import MAX_PATTERN_LENGTH, PatternRefused, pattern_compile

PROPERTY_TYPES = ("string", "number", "integer", "boolean")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAX_EVENTS = 50
MAX_PROPERTIES = 50
JSON_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool}


def plan_events_clean(events) -> list[dict]:
    """The plan's events normalised, or an ApplicationError naming each bad field (``events[0].properties[1].type``)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(events, list) or not events:
        raise ApplicationError(_("A plan needs at least one event."), errors={"events": [_("Give a list of events.")]})
    if len(events) > MAX_EVENTS:
        raise ApplicationError(_("Too many events."),
                               errors={"events": [_("At most %(n)d events.") % {"n": MAX_EVENTS}]})
    cleaned, names = [], set()
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(event, dict):
            errors[where] = [_("Each event is an object with a name and properties.")]
            continue
        name = str(event.get("name", "")).strip()
        if not NAME.match(name):
            errors[f"{where}.name"] = [_("Use lower-case letters, digits and underscores, starting with a letter.")]
        elif name in names:
            errors[f"{where}.name"] = [_("This event is already in the plan.")]
        names.add(name)
        properties = event.get("properties", [])
        if not isinstance(properties, list) or len(properties) > MAX_PROPERTIES:
            errors[f"{where}.properties"] = [_("Give a list of at most %(n)d properties.") % {"n": MAX_PROPERTIES}]
            properties = []
        props, prop_names = [], set()
        for j, prop in enumerate(properties):
            at = f"{where}.properties[{j}]"
            if not isinstance(prop, dict):
                errors[at] = [_("Each property is an object with a name and a type.")]
                continue
            prop_name = str(prop.get("name", "")).strip()
            if not NAME.match(prop_name):
                errors[f"{at}.name"] = [_("Use lower-case letters, digits and underscores, starting with a letter.")]
            elif prop_name in prop_names:
                errors[f"{at}.name"] = [_("This property is already on the event.")]
            prop_names.add(prop_name)
            kind = prop.get("type", "string")
            if kind not in PROPERTY_TYPES:
                errors[f"{at}.type"] = [_("Choose one of: %(types)s.") % {"types": ", ".join(PROPERTY_TYPES)}]
                continue
            item = {"name": prop_name, "type": kind, "required": bool(prop.get("required", False)),
                    "description": str(prop.get("description", ""))[:500]}
            allowed = prop.get("allowed")
            if allowed not in (None, [], ""):
                if not isinstance(allowed, list) or not all(
                        isinstance(v, JSON_TYPES[kind]) and not (kind != "boolean" and isinstance(v, bool))
                        for v in allowed):
                    errors[f"{at}.allowed"] = [_("Allowed values must be a list of %(type)s values.") % {"type": kind}]
                else:
                    item["allowed"] = allowed
            pattern = prop.get("pattern")
            if pattern:
                try:
                    pattern_compile(pattern)
                except PatternRefused as refused:
                    errors[f"{at}.pattern"] = [
                        _("This pattern cannot be used: %(reason)s. Patterns run in linear time (RE2 syntax): no "
                          "back-references or look-arounds, at most %(n)d characters.") % {
                            "reason": refused, "n": MAX_PATTERN_LENGTH}]
                else:
                    if kind != "string":
                        errors[f"{at}.pattern"] = [_("A pattern applies to string properties only.")]
                    item["pattern"] = pattern
            props.append(item)
        cleaned.append({"name": name, "description": str(event.get("description", ""))[:1000], "properties": props})
    if errors:
        raise ApplicationError(_("The tracking plan has invalid fields; see errors."), errors=errors)
    return cleaned


def plan_diff(old: list[dict], new: list[dict]) -> dict:
    """What changed between two versions: events added or removed, and per kept event its properties."""
    old_by, new_by = {e["name"]: e for e in old}, {e["name"]: e for e in new}
    changed = []
    for name in [n for n in new_by if n in old_by]:
        before_props = {p["name"]: p for p in old_by[name].get("properties", [])}
        after_props = {p["name"]: p for p in new_by[name].get("properties", [])}
        entry = {
            "event": name,
            "added_properties": [p for p in after_props if p not in before_props],
            "removed_properties": [p for p in before_props if p not in after_props],
            "changed_properties": [{"name": p, "before": before_props[p], "after": after_props[p]}
                                   for p in after_props if p in before_props and before_props[p] != after_props[p]],
        }
        if old_by[name].get("description", "") != new_by[name].get("description", ""):
            entry["description"] = {"before": old_by[name].get("description", ""),
                                    "after": new_by[name].get("description", "")}
        if entry["added_properties"] or entry["removed_properties"] or entry["changed_properties"] or \
                "description" in entry:
            changed.append(entry)
    return {"added_events": [n for n in new_by if n not in old_by],
            "removed_events": [n for n in old_by if n not in new_by], "changed_events": changed}


def plan_json_schema(*, title: str, events: list[dict]) -> dict:
    """A JSON Schema (2020-12) that an event ``{"event": name, "properties": {...}}`` of the plan satisfies."""
    variants = []
    for event in events:
        properties, required = {}, []
        for prop in event.get("properties", []):
            schema: dict = {"type": prop["type"]}
            if prop.get("description"):
                schema["description"] = prop["description"]
            if prop.get("allowed"):
                schema["enum"] = prop["allowed"]
            if prop.get("pattern"):
                schema["pattern"] = f"^(?:{prop['pattern']})$"
            properties[prop["name"]] = schema
            if prop.get("required"):
                required.append(prop["name"])
        variants.append({
            "type": "object", "title": event["name"], "description": event.get("description", ""),
            "properties": {"event": {"const": event["name"]},
                           "properties": {"type": "object", "properties": properties, "required": required,
                                          "additionalProperties": False}},
            "required": ["event", "properties"],
        })
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "oneOf": variants}


def _yes_no(value) -> str:
    return _("required") if value else _("optional")


def _values(values) -> str:
    return ", ".join(str(value) for value in values or []) or "—"


def _property_summary(prop: dict) -> str:
    parts = [prop.get("type", "string"), _yes_no(prop.get("required"))]
    if prop.get("allowed"):
        parts.append(_("one of %(values)s") % {"values": _values(prop["allowed"])})
    if prop.get("pattern"):
        parts.append(_("pattern /%(p)s/") % {"p": prop["pattern"]})
    return ", ".join(parts)


def _property_changes(before: dict, after: dict) -> list[str]:
    changes = []
    if before.get("type") != after.get("type"):
        changes.append(_("type %(a)s → %(b)s") % {"a": before.get("type"), "b": after.get("type")})
    if bool(before.get("required")) != bool(after.get("required")):
        changes.append(f"{_yes_no(before.get('required'))} → {_yes_no(after.get('required'))}")
    if (before.get("allowed") or []) != (after.get("allowed") or []):
        changes.append(_("allowed values %(a)s → %(b)s") % {"a": _values(before.get("allowed")),
                                                            "b": _values(after.get("allowed"))})
    if (before.get("pattern") or "") != (after.get("pattern") or ""):
        changes.append(_("pattern %(a)s → %(b)s") % {"a": before.get("pattern") or "—",
                                                     "b": after.get("pattern") or "—"})
    if (before.get("description") or "") != (after.get("description") or ""):
        changes.append(_("description changed"))
    return changes


def plan_diff_describe(old: list[dict], new: list[dict]) -> list[dict]:
    """``plan_diff`` in sentences a reviewer reads (translated): ``[{"kind": added|removed|changed, "text"}]``,
    events added, removed, then changed with each property added, removed or changed (what changed in it)."""
    diff = plan_diff(old, new)
    new_by = {event["name"]: event for event in new}
    lines = []
    for name in diff["added_events"]:
        props = new_by[name].get("properties", [])
        text = ngettext("New event %(event)s with %(n)d property: %(names)s",
                        "New event %(event)s with %(n)d properties: %(names)s", len(props))
        lines.append({"kind": "added", "text": text % {
            "event": name, "n": len(props), "names": ", ".join(p["name"] for p in props) or "—"}})
    for name in diff["removed_events"]:
        lines.append({"kind": "removed", "text": _("Event %(event)s removed") % {"event": name}})
    for change in diff["changed_events"]:
        event, after_props = change["event"], {p["name"]: p for p in new_by[change["event"]].get("properties", [])}
        if "description" in change:
            lines.append({"kind": "changed", "text": _("Event %(event)s: description changed") % {"event": event}})
        for prop in change["added_properties"]:
            lines.append({"kind": "added", "text": _("Event %(event)s: new property %(prop)s (%(summary)s)") % {
                "event": event, "prop": prop, "summary": _property_summary(after_props[prop])}})
        for prop in change["removed_properties"]:
            lines.append({"kind": "removed", "text": _("Event %(event)s: property %(prop)s removed") % {
                "event": event, "prop": prop}})
        for prop in change["changed_properties"]:
            lines.append({"kind": "changed", "text": _("Event %(event)s: property %(prop)s changed: %(what)s") % {
                "event": event, "prop": prop["name"],
                "what": "; ".join(_property_changes(prop["before"], prop["after"]))}})
    return lines
