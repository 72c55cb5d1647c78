import csv
import io
import sys
from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.services.columns import columns_build_through, columns_days_to_build
from analytics.services.importing import CHUNK_LINES, csv_records, events_import, jsonl_records
from analytics.tasks import build_event_columns_task, event_columns_build_queue
from ops_platform.core.exceptions import ServiceUnavailable

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _errors_text(errors: dict) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


class Command(BaseCommand):
    help = (
        "Import events from a CSV file (header: event,distinct_id,timestamp,uuid,properties — properties as a "
        "JSON object) or JSON lines (.jsonl/.ndjson, one event object per line), or '-' for stdin with --format. "
        "Same rules as POST /api/v1/events/batch/; streamed in chunks, so memory stays flat on any size. "
        "Events whose uuid is already stored count as duplicates, so a rerun of the same file stores nothing "
        "new (lines without a uuid get a random one: give uuids to make reruns safe). Afterwards the imported days "
        "older than yesterday are packed into the funnels' event columns (a worker's task, or in process without "
        "a broker)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the file, or '-' for stdin.")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="Needed for stdin or another extension.")
        parser.add_argument("--rejects", help="Write each rejected line (line number, errors, event) as JSON lines "
                                              "to this file.")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_LINES,
                            help=f"Lines validated and stored together (default {CHUNK_LINES}).")

    def handle(self, *args, **options):
        path = options["file"]
        fmt = options["format"] or FORMATS.get(Path(path).suffix.lower())
        if fmt is None:
            raise CommandError(f"Cannot tell the format of {path!r} from its extension (.csv, .jsonl, .ndjson): "
                               "give --format csv or --format jsonl.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if path == "-":
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="") if fmt == "csv" \
                else sys.stdin.buffer
        else:
            try:
                stream = open(path, encoding="utf-8-sig", newline="") if fmt == "csv" else open(path, "rb")  # noqa: SIM115
            except OSError as error:
                raise CommandError(f"Cannot open {path}: {error.strerror}.") from None
        rejects = None
        if options["rejects"]:
            try:
                rejects = open(options["rejects"], "wb")  # noqa: SIM115
            except OSError as error:
                raise CommandError(f"Cannot write {options['rejects']}: {error.strerror}.") from None

        def write_reject(record, errors):
            rejects.write(orjson.dumps({"line": record.line, "errors": errors, "event": record.raw},
                                       default=str) + b"\n")

        bar = tqdm(unit=" lines", unit_scale=True, desc="import_events", file=self.stderr,
                   disable=options["verbosity"] == 0)

        def progress(line: int) -> None:
            bar.n = line
            bar.refresh()

        records = csv_records(stream) if fmt == "csv" else jsonl_records(stream)
        try:
            summary = events_import(records=records, chunk_lines=options["chunk_size"],
                                    on_reject=write_reject if rejects else None, on_progress=progress)
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start} of a chunk); "
                               "the chunks before it were stored.") from None
        except csv.Error as error:
            raise CommandError(f"{path} is not a readable CSV file: {error}.") from None
        finally:
            bar.close()
            if path != "-":
                stream.close()
            if rejects is not None:
                rejects.close()

        name = "stdin" if path == "-" else path
        self.stdout.write(self.style.SUCCESS(
            f"Imported {name}: {summary.lines:,} lines — {summary.accepted:,} accepted, "
            f"{summary.duplicates:,} duplicates, {summary.rejected:,} rejected."))
        if summary.rejected:
            self.stdout.write("Rejected, by reason:")
            for reason, count in summary.reasons.most_common():
                self.stdout.write(f"  {count:>10,}  {reason}")
            self.stdout.write(f"First rejected lines ({len(summary.samples)} of {summary.rejected:,}):")
            for line, errors in summary.samples:
                self.stdout.write(f"  line {line}: {_errors_text(errors)}")
            if rejects is not None:
                self.stdout.write(f"Every rejected line is in {options['rejects']}.")
        if summary.accepted:
            self._pack_days()

    def _pack_days(self) -> None:
        """Queue the event columns' build of the days that need it now (the imported days up to the day before
        yesterday among them), and say what happened to it on stderr, with the progress (the bar, and each day
        built is logged there when the task runs in process)."""
        try:
            days = event_columns_build_queue()
        except ServiceUnavailable:
            self.stderr.write("Event columns: the task queue is unavailable; the hourly build packs the imported days.")
            return
        if not days:
            return
        span = f"{days[0]} to {days[-1]}" if len(days) > 1 else str(days[0])
        if not build_event_columns_task.app.conf.task_always_eager:
            self.stderr.write(f"Event columns: {len(days):,} day(s) to pack ({span}), queued for a worker "
                              "(its log shows each day built).")
            return
        left = len(columns_days_to_build(through=columns_build_through()))  # the task ran in process
        self.stderr.write(f"Event columns: {len(days) - left:,} of {len(days):,} day(s) packed ({span}).")
