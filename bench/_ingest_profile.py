"""Where a batch's time goes, measured in one process (run by ingest_http.py against its scratch database).

Prints JSON: milliseconds per batch of 1,000 for parsing, validating and loading, and per SQL statement.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_platform.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
import psycopg  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from ingest_http import synthetic_events  # noqa: E402

from analytics.services.ingest import EventValidator, events_batch_parse  # noqa: E402
from analytics.services.loading import events_load  # noqa: E402

BATCHES = 20


def main() -> None:
    events = synthetic_events(BATCHES * 1000, customers=100_000, seed=int(time.time()))
    bodies = [orjson.dumps({"batch": events[i:i + 1000]}) for i in range(0, len(events), 1000)]
    phases, statements = Counter(), Counter()

    def timed(execute, *, only: type | None = None):
        """``execute`` that adds its time to the statement's first three words (``only``: on that class alone)."""

        def timed_execute(self, query, params=None, **kwargs):
            if only is not None and type(self) is not only:
                return execute(self, query, params, **kwargs)
            started = time.perf_counter()
            try:
                return execute(self, query, params, **kwargs)
            finally:
                statements[" ".join(str(query).split()[:3])] += time.perf_counter() - started

        return timed_execute

    CursorWrapper.execute = timed(CursorWrapper.execute)
    # The load's statements run on psycopg's own cursors (binary parameters); Django's (ClientCursor, a subclass)
    # are timed through CursorWrapper above.
    psycopg.Cursor.execute = timed(psycopg.Cursor.execute, only=psycopg.Cursor)
    for body in bodies:
        started = time.perf_counter()
        batch = events_batch_parse(body)
        parsed = time.perf_counter()
        rows = EventValidator().validate_many(batch).rows
        validated = time.perf_counter()
        events_load(rows)
        loaded = time.perf_counter()
        phases["parse"] += parsed - started
        phases["validate"] += validated - parsed
        phases["events_load"] += loaded - validated
    print(orjson.dumps({
        "phases": {name: round(seconds / BATCHES * 1000, 1) for name, seconds in phases.items()},
        "statements": {name: round(seconds / BATCHES * 1000, 1) for name, seconds in statements.most_common()},
    }).decode())


if __name__ == "__main__":
    main()
