"""Counters in the top bar (unread notifications …) contributed by the domain apps.

The site imports no app, so an app registers a counter here when Django starts (``AppConfig.ready``). The page
renders the link; the number is fetched by the browser afterwards from ``count_url`` (any JSON answer with a
``count``, e.g. a paginated list asked for one row), so no page pays a query for it and a slow count never holds
up a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class TopbarCounter:
    url_name: str  # the page the counter links to
    label: str | Promise
    count_url_name: str  # the endpoint that answers {"count": n}
    count_query: str = ""  # appended to the endpoint's URL, e.g. "unread=true&page_size=1"


_COUNTERS: dict[str, TopbarCounter] = {}


def topbar_counter_register(name: str, counter: TopbarCounter) -> None:
    _COUNTERS[name] = counter


def topbar_counters() -> list[tuple[str, TopbarCounter]]:
    return sorted(_COUNTERS.items())
