"""Importing events from a file (CSV or JSON lines): streamed in chunks, the API's validator, ``events_load``.

Memory stays flat whatever the file's size: one chunk of lines is held at a time, and the summary keeps
counts per reason and only the first few rejected lines.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO

import orjson

from analytics.services.ingest import Errors, EventValidator, events_ingest_load

CHUNK_LINES = 5_000
SAMPLE_REJECTS = 10
MAX_REASONS = 50  # distinct reasons counted one by one; the rest (e.g. parser messages naming columns) are pooled
OTHER_REASONS = "(other reasons)"
CSV_COLUMNS = ("event", "distinct_id", "timestamp", "uuid", "properties")


@dataclass
class Record:
    """One line of the input: the raw event (as the API would receive it), or why it could not be read."""

    line: int
    raw: object
    errors: Errors | None = None


@dataclass
class ImportSummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)  # "field: message" -> lines
    samples: list[tuple[int, Errors]] = field(default_factory=list)  # the first rejected lines


def csv_records(stream: IO[str]) -> Iterator[Record]:
    """Rows of a CSV file with a header naming (some of) event, distinct_id, timestamp, uuid, properties.

    Empty cells are absent fields; ``properties`` holds a JSON object.
    """
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    names = [name.strip().lower() for name in header]
    for number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        raw = {name: value for name, value in zip(names, cells, strict=False) if value != "" and name in CSV_COLUMNS}
        errors = None
        if "properties" in raw:
            try:
                raw["properties"] = orjson.loads(raw["properties"])
            except orjson.JSONDecodeError as exc:
                errors = {"properties": [f"Not valid JSON: {exc}"]}
        yield Record(line=number, raw=raw, errors=errors)


def jsonl_records(stream: IO[bytes]) -> Iterator[Record]:
    """One JSON object per line; blank lines are skipped."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Record(line=number, raw=None, errors={"non_field_errors": [f"Not valid JSON: {exc}"]})
            continue
        yield Record(line=number, raw=raw)


def events_import(*, records: Iterable[Record], chunk_lines: int = CHUNK_LINES,
                  on_reject: Callable[[Record, Errors], None] | None = None,
                  on_progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Validate and store events chunk by chunk; the same rules as the batch endpoint."""
    summary = ImportSummary()
    iterator = iter(records)
    while chunk := list(islice(iterator, chunk_lines)):
        validator = EventValidator()
        rows = []
        for record in chunk:
            errors = record.errors
            if errors is None:
                row, errors = validator.validate(record.raw)
                if errors is None:
                    rows.append(row)
                    continue
            summary.rejected += 1
            for name, messages in errors.items():
                for message in messages:
                    reason = f"{name}: {message}"
                    if reason not in summary.reasons and len(summary.reasons) >= MAX_REASONS:
                        reason = OTHER_REASONS
                    summary.reasons[reason] += 1
            if len(summary.samples) < SAMPLE_REJECTS:
                summary.samples.append((record.line, errors))
            if on_reject is not None:
                on_reject(record, errors)
        if rows:
            loaded = events_ingest_load(rows)
            summary.accepted += loaded.inserted
            summary.duplicates += loaded.duplicates
        summary.lines += len(chunk)
        if on_progress is not None:
            on_progress(chunk[-1].line)
    return summary
