"""Reports as files: every table downloads as CSV or XLSX.

A report is a list of ``ExportTable`` (one per sheet; a breakdown gets a sheet per value). CSV streams
row by row from a database iterator, so memory stays flat however long the range; XLSX is written by
openpyxl's write-only workbook (constant memory) with a formatted header and typed cells (percentages as
percentages). Large reports run as an ``ExportJob`` on the workers, with progress the page polls.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analytics.models import AarrrDaily, Event, ExportJob
from analytics.services.periods import local_range
from ops_platform.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

ITERATOR_CHUNK = 5000
PROGRESS_EVERY = 5000
NUMBER_FORMATS = {"int": "#,##0", "money": "#,##0.00", "percent": "0.0%", "seconds": "#,##0", "date": "yyyy-mm-dd"}
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="3B6FD8")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, percent (a ratio 0…1), seconds, date


@dataclass
class ExportTable:
    title: str
    columns: list[Column]
    rows: Iterable[dict]
    total: int | None = None  # rows expected, for progress; None when unknown


@dataclass
class Report:
    name: str  # file name stem
    tables: list[ExportTable] = field(default_factory=list)

    @property
    def total(self) -> int | None:
        totals = [table.total for table in self.tables]
        return None if any(t is None for t in totals) else sum(totals)


# Report builders: kind → function(params) → Report. Other modules register theirs with ``report_register``.

ReportBuilder = Callable[[dict], Report]
REPORTS: dict[str, ReportBuilder] = {}


def report_register(kind: str) -> Callable[[ReportBuilder], ReportBuilder]:
    def decorator(builder: ReportBuilder) -> ReportBuilder:
        REPORTS[kind] = builder
        return builder

    return decorator


def report_build(*, kind: str, params: dict) -> Report:
    builder = REPORTS.get(kind)
    if builder is None:
        raise ApplicationError(f"Unknown report {kind!r}.", errors={"kind": [f"Choose one of {sorted(REPORTS)}."]})
    return builder(params)


AARRR_COLUMNS = [
    Column("date", _("Date"), "date"), Column("channel", _("Channel")),
    Column("acquisition", _("Acquisition"), "int"), Column("activation", _("Activation"), "int"),
    Column("activation_rate", _("Activation rate"), "percent"), Column("retention", _("Retention"), "int"),
    Column("revenue", _("Revenue"), "money"), Column("paying_customers", _("Paying customers"), "int"),
    Column("referral", _("Referral"), "int"),
]


@report_register("aarrr")
def aarrr_report(params: dict) -> Report:
    """The stored AARRR rows by day and channel; ``params``: date_from, date_to (ISO), channel (optional)."""
    date_from, date_to = date.fromisoformat(str(params["date_from"])), date.fromisoformat(str(params["date_to"]))
    rows = AarrrDaily.objects.filter(date__gte=date_from, date__lte=date_to)
    if params.get("channel"):
        rows = rows.filter(channel=params["channel"])
    rows = rows.order_by("date", "channel")
    values = rows.values("date", "channel", "acquisition", "activation", "retention", "revenue",
                         "paying_customers", "referral")

    def records() -> Iterator[dict]:
        for row in values.iterator(chunk_size=ITERATOR_CHUNK):
            row["activation_rate"] = row["activation"] / row["acquisition"] if row["acquisition"] else 0.0
            yield row

    return Report(name=f"aarrr_{date_from}_{date_to}",
                  tables=[ExportTable(title=str(_("AARRR by day and channel")), columns=AARRR_COLUMNS,
                                      rows=records(), total=rows.count())])


EVENT_COLUMNS = [
    Column("timestamp", _("Time"), "text"), Column("event", _("Event")), Column("distinct_id", _("Customer")),
    Column("channel", _("Channel")), Column("properties", _("Properties")),
]


@report_register("events")
def events_report(params: dict) -> Report:
    """Raw events of a date range (local days), one event name or all, oldest first; params as for AARRR."""
    date_from, date_to = date.fromisoformat(str(params["date_from"])), date.fromisoformat(str(params["date_to"]))
    tz = timezone.get_current_timezone()
    start, end = local_range(date_from, date_to)
    rows = Event.objects.filter(timestamp__gte=start, timestamp__lt=end)
    if params.get("event"):
        rows = rows.filter(event=params["event"])
    values = rows.order_by("timestamp", "id").values_list("timestamp", "event", "distinct_id", "channel",
                                                          "properties")

    def records() -> Iterator[dict]:
        for timestamp, event, distinct_id, channel, properties in values.iterator(chunk_size=ITERATOR_CHUNK):
            yield {"timestamp": timestamp.astimezone(tz).isoformat(), "event": event, "distinct_id": distinct_id,
                   "channel": channel, "properties": json.dumps(properties, ensure_ascii=False)}

    return Report(name=f"events_{date_from}_{date_to}",
                  tables=[ExportTable(title=str(_("Events")), columns=EVENT_COLUMNS, rows=records(),
                                      total=rows.count())])


# Writers


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == "percent":
        return f"{float(value) * 100:.2f}%"
    return value


def report_csv_lines(report: Report) -> Iterator[str]:
    """The report as CSV text, line by line (a byte-order mark first, so Excel reads Chinese correctly).

    With several tables, a first column names the table each row belongs to. Labels are translated now,
    in the request's language, not later while the response streams.
    """
    writer = csv.writer(_Echo())
    several = len(report.tables) > 1
    header = ([str(_("Table"))] if several else []) + (
        [str(c.label) for c in report.tables[0].columns] if report.tables else [])
    titles = [str(table.title) for table in report.tables]

    def lines() -> Iterator[str]:
        yield "\ufeff"
        yield writer.writerow(header)
        for title, table in zip(titles, report.tables, strict=True):
            for row in table.rows:
                cells = [_csv_value(row.get(c.key), c.kind) for c in table.columns]
                yield writer.writerow(([title] if several else []) + cells)

    return lines()


def _sheet_title(title: str, used: set[str]) -> str:
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in title)[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = clean[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def report_xlsx_write(report: Report, target, *, progress: Callable[[int], None] | None = None) -> int:
    """Write the report as an XLSX workbook (a sheet per table) to a path or binary file; returns rows written."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    written = 0
    for table in report.tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = 22 if column.kind == "text" else 14
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=str(column.label))
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, Alignment(horizontal="center")
            header.append(cell)
        sheet.freeze_panes = "A2"  # write-only sheets take it before the first row
        sheet.append(header)
        for row in table.rows:
            cells = []
            for column in table.columns:
                value = row.get(column.key)
                if column.kind in ("int", "seconds") and value is not None:
                    value = int(value)
                elif column.kind in ("money", "percent") and value is not None:
                    value = float(value)
                cell = WriteOnlyCell(sheet, value=value)
                if column.kind in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[column.kind]
                cells.append(cell)
            sheet.append(cells)
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(written)
    if not report.tables:
        workbook.create_sheet("Empty")
    workbook.save(target)
    return written


def report_csv_write(report: Report, path: Path, *, progress: Callable[[int], None] | None = None) -> int:
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for line in report_csv_lines(report):
            handle.write(line)
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(max(written - 2, 0))
    return max(written - 2, 0)  # less the BOM and the header


def report_xlsx_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    report_xlsx_write(report, buffer)
    return buffer.getvalue()


# Export jobs (large reports on the workers)


def export_job_create(*, kind: str, params: dict, file_format: str, created_by) -> ExportJob:
    """Record the job and queue it once the transaction commits."""
    from analytics.tasks import export_job_run  # tasks import this module: import here (HackSoft's pattern)

    if kind not in REPORTS:
        raise ApplicationError(f"Unknown report {kind!r}.", errors={"kind": [f"Choose one of {sorted(REPORTS)}."]})
    if file_format not in ExportJob.Format.values:
        raise ApplicationError("Unknown file format.", errors={"file_format": ["Choose csv or xlsx."]})
    job = ExportJob(kind=kind, params=params, file_format=file_format, created_by=created_by)
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: export_job_run.delay(str(job.id)))
    return job


def export_job_execute(*, job_id) -> ExportJob:
    """Build the report file of a job, updating its progress; a failure is recorded on the job."""
    job = ExportJob.objects.get(pk=job_id)
    if job.status == ExportJob.Status.DONE:
        return job  # a redelivered task: the file is there
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, started_at=timezone.now(),
                                               rows_done=0, error="")
    directory = Path(settings.MEDIA_ROOT) / "exports" / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    scratch = directory / f"{job.id}.{job.file_format}"
    try:
        report = report_build(kind=job.kind, params=job.params)
        ExportJob.objects.filter(pk=job.pk).update(rows_total=report.total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

        writer = report_xlsx_write if job.file_format == ExportJob.Format.XLSX else report_csv_write
        rows = writer(report, scratch, progress=progress)
        with open(scratch, "rb") as handle:
            job.file.save(f"{report.name}.{job.file_format}", File(handle), save=False)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.DONE, rows_done=rows, file=job.file.name,
                                                   finished_at=timezone.now())
    except Exception as exc:
        logger.exception("Export job %s failed", job.id)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, finished_at=timezone.now(),
                                                   error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        scratch.unlink(missing_ok=True)
    job.refresh_from_db()
    return job
