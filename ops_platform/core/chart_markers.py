"""Markers on the analytics charts (launches, campaigns …) contributed by the domain apps.

``analytics`` imports no domain app, so the apps register a provider here when Django starts
(``AppConfig.ready``) and the chart pages ask for the markers of their range. A provider is a plain
function ``(date_from, date_to) -> [{"date": date, "label": str, "url": str}]``. This module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

MarkerProvider = Callable[..., list[dict]]
_PROVIDERS: dict[str, MarkerProvider] = {}


def chart_marker_provider_register(name: str, provider: MarkerProvider) -> None:
    _PROVIDERS[name] = provider


def chart_markers(*, date_from: date, date_to: date) -> list[dict]:
    """Every provider's markers within [date_from, date_to], by date."""
    markers = []
    for kind, provider in sorted(_PROVIDERS.items()):
        markers.extend({**marker, "kind": kind} for marker in provider(date_from=date_from, date_to=date_to))
    return sorted(markers, key=lambda marker: (marker["date"], marker["label"]))
