"""Sets of customers a report can be restricted to (``segment=<id>``, ``exclude_segment=<id>``), contributed by the
app that owns them: the users app registers its segments when Django starts, and analytics reads them here as lazy
subqueries of person ids, so the engine stays unaware of segments and the restriction runs inside its own statement.

Restricting a report to a segment can single out customers (a segment of one named customer), so it takes the right
to read customer records (``Area.CUSTOMER_RECORDS``), as live segment previews do. This module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable

from ops_platform.core.roles import Action, Area, can

# segment id → a lazy queryset of person ids (one column), or None when there is no such segment
_RESOLVER: Callable[[int], object] | None = None
# the segments a report page offers: () → [(id, name)]
_CHOICES: Callable[[], list[tuple[int, str]]] | None = None
SEGMENT_AREA = Area.CUSTOMER_RECORDS


def segment_source_register(*, resolve: Callable[[int], object], choices: Callable[[], list[tuple[int, str]]]) -> None:
    global _RESOLVER, _CHOICES
    _RESOLVER, _CHOICES = resolve, choices


def segment_people(segment_id: int):
    """The segment's members as a lazy subquery of person ids; None when there is no such segment."""
    return _RESOLVER(segment_id) if _RESOLVER else None


def segment_choices() -> list[tuple[int, str]]:
    return _CHOICES() if _CHOICES else []


def segment_filter_allowed(user) -> bool:
    """Whether ``user`` may restrict a report to a segment (or exclude one)."""
    return can(user, SEGMENT_AREA, Action.VIEW)
