"""import_events: CSV and JSON lines, the API's rules, duplicates, a summary of what was rejected and why."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics.models import Event
from analytics.services.importing import csv_records, events_import, jsonl_records

U1 = "0b5a4c1e-8d1f-4c3a-9e57-2f1d7c9a6b10"
U2 = "1c6b5d2f-9e20-4d4b-8f68-3a2e8d0b7c21"
U3 = "2d7c6e30-af31-4e5c-9079-4b3f9e1c8d32"

CSV = f"""event,distinct_id,timestamp,uuid,properties
visit,c1,2026-11-20T09:30:00+08:00,{U1},"{{""channel"": ""wechat""}}"
signup,c1,2026-11-20T09:31:00+08:00,{U2},
order_paid,c1,2026-11-20 09:32:00,,"{{""amount"": 25}}"
visit,,2026-11-20T09:33:00Z,,
review,c2,2026-11-20T09:34:00Z,{U3},not json
visit,c3,2026-11-20T09:35:00Z,{U1},
"""


def run(*args, stdin: str | bytes | None = None, monkeypatch=None) -> str:
    out, err = StringIO(), StringIO()
    if stdin is not None:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    call_command("import_events", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_csv_import_stores_the_valid_lines_and_explains_the_rest(db, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV, encoding="utf-8")

    output = run(str(path))

    assert output.splitlines() == [
        f"Imported {path}: 6 lines — 2 accepted, 1 duplicates, 3 rejected.",
        "Rejected, by reason:",
        "           1  timestamp: Must include a UTC offset, e.g. +08:00 or Z.",
        "           1  distinct_id: This field is required.",
        "           1  properties: Not valid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        "First rejected lines (3 of 3):",
        "  line 4: timestamp: Must include a UTC offset, e.g. +08:00 or Z.",
        "  line 5: distinct_id: This field is required.",
        "  line 6: properties: Not valid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
    ]
    assert sorted(Event.objects.values_list("event", "distinct_id", "timestamp", "channel")) == [
        ("signup", "c1", datetime(2026, 11, 20, 1, 31, tzinfo=UTC), ""),
        ("visit", "c1", datetime(2026, 11, 20, 1, 30, tzinfo=UTC), "wechat"),
    ]


def test_a_second_import_of_the_same_file_stores_nothing_new(db, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV, encoding="utf-8")
    run(str(path))

    output = run(str(path))

    assert output.splitlines()[0] == f"Imported {path}: 6 lines — 0 accepted, 3 duplicates, 3 rejected."
    assert Event.objects.count() == 2


def test_jsonl_import_with_rejects_file(db, tmp_path):
    path = tmp_path / "events.ndjson"
    lines = [
        json.dumps({"uuid": U1, "event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T01:30:00Z",
                    "properties": {"channel": "douyin"}}),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"uuid": U1, "event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T01:30:00Z"}),
        json.dumps({"event": "x" * 201, "distinct_id": "c2", "timestamp": "2026-11-20T01:30:00Z",
                    "properties": [1]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"

    output = run(str(path), "--rejects", str(rejects))

    assert output.splitlines()[0] == f"Imported {path}: 5 lines — 1 accepted, 1 duplicates, 3 rejected."
    assert output.splitlines()[-1] == f"Every rejected line is in {rejects}."
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [item["line"] for item in written] == [3, 4, 6]
    assert written[1] == {"line": 4, "errors": {"non_field_errors": ["Each event must be a JSON object."]},
                          "event": ["a list"]}
    assert written[2]["errors"] == {"event": ["Must be at most 200 characters."],
                                    "properties": ["Must be a JSON object."]}
    assert written[0]["errors"]["non_field_errors"][0].startswith("Not valid JSON")
    assert list(Event.objects.values_list("channel", flat=True)) == ["douyin"]


def test_stdin_needs_a_format(db, monkeypatch):
    with pytest.raises(CommandError, match="--format"):
        run("-", stdin="", monkeypatch=monkeypatch)


def test_csv_from_stdin(db, monkeypatch):
    output = run("-", "--format", "csv", stdin=CSV, monkeypatch=monkeypatch)

    assert output.splitlines()[0] == "Imported stdin: 6 lines — 2 accepted, 1 duplicates, 3 rejected."


def test_jsonl_from_stdin(db, monkeypatch):
    line = json.dumps({"event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T01:30:00Z"})

    output = run("-", "--format", "jsonl", stdin=line + "\n" + line + "\n", monkeypatch=monkeypatch)

    # without uuids each line is a new event: clients should send uuids to make reruns safe
    assert output.splitlines()[0] == "Imported stdin: 2 lines — 2 accepted, 0 duplicates, 0 rejected."


@pytest.mark.parametrize("name", ["events.txt", "events"])
def test_an_unknown_extension_needs_a_format(db, tmp_path, name):
    path = tmp_path / name
    path.write_text(CSV)

    with pytest.raises(CommandError, match="--format csv or --format jsonl"):
        run(str(path))
    assert Event.objects.count() == 0


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot open"):
        run(str(tmp_path / "nope.csv"))


def test_a_file_that_is_not_utf8_is_a_clear_error(db, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"event,distinct_id,timestamp\nvisit,\xff\xfe,2026-11-20T01:30:00Z\n")

    with pytest.raises(CommandError, match="is not UTF-8"):
        run(str(path))


def test_chunks_are_loaded_one_by_one(db, django_assert_max_num_queries):
    lines = [json.dumps({"event": "visit", "distinct_id": f"c{i}", "timestamp": "2026-11-20T01:30:00Z"})
             for i in range(25)]
    stream = io.BytesIO("\n".join(lines).encode())
    progress = []

    summary = events_import(records=jsonl_records(stream), chunk_lines=10, on_progress=progress.append)

    assert (summary.lines, summary.accepted, summary.duplicates, summary.rejected) == (25, 25, 0, 0)
    assert progress == [10, 20, 25]
    assert Event.objects.count() == 25


def _peak_memory_of_import(count: int) -> int:
    def lines():
        for i in range(count):
            yield (f'{{"event": "visit", "distinct_id": "c{i % 100}", "timestamp": "2026-11-20T01:30:00Z", '
                   f'"properties": {{"pad": "{"x" * 200}"}}}}\n').encode()

    tracemalloc.start()
    summary = events_import(records=jsonl_records(lines()), chunk_lines=500)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.accepted == count
    return peak


def test_memory_stays_flat_on_a_long_input(db):
    """Records are pulled lazily and one chunk is held at a time: four times the lines, about the same peak."""
    short = _peak_memory_of_import(1_500)
    long = _peak_memory_of_import(6_000)

    assert long < short * 1.5, (short, long)


def test_reasons_are_counted_in_bounded_memory(db):
    lines = [f'{{"event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T01:30:00Z"{" " * i}'.encode()
             for i in range(120)]

    summary = events_import(records=jsonl_records(lines))

    assert summary.rejected == 120
    assert len(summary.reasons) == 51
    assert summary.reasons["(other reasons)"] == 70
    assert len(summary.samples) == 10


def test_csv_records_skip_unknown_columns_and_empty_cells():
    stream = io.StringIO("Event,distinct_id,timestamp,extra\nvisit,c1,2026-11-20T01:30:00Z,zzz\n\n")

    records = list(csv_records(stream))

    assert [(r.line, r.raw, r.errors) for r in records] == [
        (2, {"event": "visit", "distinct_id": "c1", "timestamp": "2026-11-20T01:30:00Z"}, None)]
