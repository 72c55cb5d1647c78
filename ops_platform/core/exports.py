"""The one export writer: every table the project lets someone download goes out through here, as CSV or XLSX.

Why one writer: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)`` leaks data, DDE ``=cmd|…`` runs programs), and event names, customer ids, properties and
titles are written by people outside the team. Four writers had grown apart and only one escaped them.

What every file gets:

- **Formulas neutralised in every text cell.** CSV: a text value that starts with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return is written with a leading apostrophe (``'=1+1``), which Excel and LibreOffice show as text
  (OWASP "CSV injection"). XLSX: every text value is written as a *string* cell (openpyxl would otherwise store a
  value starting with ``=`` as a live formula), and those same values are marked with Excel's own "quote prefix"
  style, so the cell shows ``=1+1`` exactly and stays text when someone edits it. Numbers are only written as
  numbers when they are numbers: a text in a numeric column is a text cell like any other.
- **CSV**: UTF-8 with a byte-order mark (Excel opens Chinese correctly), streamed line by line from the rows'
  iterator, so memory stays flat whatever the size.
- **XLSX**: openpyxl's write-only workbook (constant memory), a sheet per table, a bold coloured header, frozen
  first row, column widths, and typed cells: integers, money (``#,##0.00``), percentages (a ratio 0…1 shown as
  ``0.0%``), dates and times as real dates. Characters XLSX cannot hold (control characters) are dropped and a text
  longer than a cell holds (32,767 characters) is cut with an ellipsis, rather than producing a file Excel repairs.
- **Times** in ``TIME_ZONE``: an aware datetime is converted; CSV writes ISO 8601 with its offset
  (``2026-03-10T00:30:00+08:00``), XLSX a local date-time (Excel has no zones). In a ``DATE`` or ``DATETIME`` column
  an ISO 8601 text is that date or time (the selectors hand JSON-ready results: ``"period": "2026-10-12"``), so it
  is a date cell too; any other text there stays text (a retention file's "Average" row).
- **Yes / No in the reader's language**: a boolean, in any column, is written as the words ``Yes`` / ``No`` of the
  language the file starts in (是 / 否), in CSV and XLSX alike, never Python's ``True`` nor an untranslated
  ``true``. Declare such a column ``BOOLEAN``.
- **Labels in the reader's language**: column labels and sheet titles may be lazy translations; they are
  resolved when the file starts (in the request's language), never later while a response streams. Where
  scripts read a file back, ``header=HEADER_BOTH`` writes ``Label (code)`` so the stable code sits beside the
  translated label (``客户 (distinct_id)``); ``header_code()`` reads the code back.

The API, in short::

    from ops_platform.core import exports

    table = exports.ExportTable(title=_("Customers"), columns=[
        exports.Column("distinct_id", _("Customer")), exports.Column("orders", _("Orders"), exports.INT),
        exports.Column("spend", _("Spend"), exports.MONEY), exports.Column("first_seen_at", _("First seen"),
                                                                             exports.DATETIME)],
        rows=queryset.values(...).iterator(chunk_size=5000))       # dicts by key, or tuples in column order
    report = exports.Report(name="customers", tables=[table])
    return exports.csv_response(report)          # or exports.xlsx_response(report), or …_write(report, path)

This module imports no app.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

# Column kinds
TEXT = "text"
INT = "int"  # a whole number
NUMBER = "number"  # any number, shown as it is
MONEY = "money"  # two decimals
PERCENT = "percent"  # a ratio 0…1, shown as a percentage
SECONDS = "seconds"  # a duration in whole seconds
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"  # a yes or no, written as the reader's words for them
KINDS = (TEXT, INT, NUMBER, MONEY, PERCENT, SECONDS, DATE, DATETIME, BOOLEAN)

# Header styles
HEADER_LABEL = "label"  # the translated label (people)
HEADER_CODE = "code"  # the column's key (machines)
HEADER_BOTH = "both"  # "Label (code)": people read the label, scripts the code (see header_code)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_TEXT = 32_767  # characters in one cell
PROGRESS_EVERY = 5000  # rows between progress callbacks
NUMBER_FORMATS = {INT: "#,##0", MONEY: "#,##0.00", PERCENT: "0.0%", SECONDS: "#,##0", DATE: "yyyy-mm-dd",
                  DATETIME: "yyyy-mm-dd hh:mm:ss"}
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="3B6FD8")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
# What XLSX (XML 1.0) cannot hold: C0 controls other than tab, newline and carriage return.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_HEADER_CODE = re.compile(r"\(([^()]+)\)\s*$")
# The ISO 8601 texts a DATE or DATETIME column reads as dates and times (nothing looser: "20261012" stays text).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class Column:
    key: str  # the value's key in a row dict, and the code scripts read (HEADER_CODE, HEADER_BOTH)
    label: Any  # a str or a lazy translation
    kind: str = TEXT  # one of KINDS
    width: int | None = None  # XLSX column width in characters; by kind when None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown column kind {self.kind!r}; one of {KINDS}.")


@dataclass
class ExportTable:
    title: Any  # the sheet's name (XLSX), or the first column's value when a CSV holds several tables
    columns: Sequence[Column]
    rows: Iterable[Mapping | Sequence]  # dicts by column key, or sequences in column order; iterated once
    total: int | None = None  # rows expected, for progress; None when unknown


@dataclass
class Report:
    name: str  # the file name's stem
    tables: list[ExportTable] = field(default_factory=list)
    header: str = HEADER_LABEL  # HEADER_LABEL, HEADER_CODE or HEADER_BOTH

    @property
    def total(self) -> int | None:
        totals = [table.total for table in self.tables]
        return None if any(t is None for t in totals) else sum(totals)


# Cells


def neutralise(text: str) -> str:
    """A text a spreadsheet will not run as a formula: a leading ``'`` when it starts like one."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, datetime):
        return _local(value).isoformat()
    return str(value)


def yes_no() -> tuple[str, str]:
    """The words a boolean is written as, in the active language: resolved when a file starts (``csv_lines``,
    ``xlsx_write``), as labels are, never later while a response streams."""
    return _("Yes"), _("No")


def _word(value: bool, words: tuple[str, str] | None) -> str:
    yes, no = words or yes_no()
    return yes if value else no


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _number(value, kind: str):
    """The value as a number of its column's kind, or None when it is not a number (it is written as text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if kind in (INT, SECONDS):
        return int(value)
    if kind == MONEY and isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def iso_moment(text: str) -> date | datetime | None:
    """The day or the time an ISO 8601 text stands for (``2026-10-12``, ``2026-12-03T07:00:28.903407+00:00``); None
    for any other text, "2026-02-30" included."""
    text = text.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATETIME.fullmatch(text):
            return datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def _iso(value, kind: str):
    """The date or the time an ISO 8601 text of a DATE or DATETIME column stands for; None for any other text."""
    if not isinstance(value, str):
        return None
    moment = iso_moment(value)
    wanted = datetime if kind == DATETIME else date if kind == DATE else None
    # a datetime is a date to Python: a DATE column takes a day, a DATETIME column a time
    return moment if wanted is not None and type(moment) is wanted else None


def _typed(value, kind: str):
    """(kind actually written, value): numbers, dates, times and booleans when they are; text otherwise."""
    if isinstance(value, bool):  # before the numbers: True is an int to Python, a yes to a reader
        return BOOLEAN, value
    value = _iso(value, kind) or value
    if kind in (INT, NUMBER, MONEY, PERCENT, SECONDS):
        number = _number(value, kind)
        if number is not None:
            return kind, number
    elif kind == DATETIME and isinstance(value, datetime):
        return DATETIME, _local(value)
    elif kind == DATE and isinstance(value, date) and not isinstance(value, datetime):
        return DATE, value
    elif kind == DATE and isinstance(value, datetime):
        return DATE, _local(value).date()
    return TEXT, _as_text(value)


def csv_cell(value, kind: str = TEXT, *, words: tuple[str, str] | None = None) -> str:
    """One CSV field: numbers as numbers, percentages as ``25.00%``, times in TIME_ZONE, booleans as ``words``
    (``yes_no()``: the active language's when not given), text neutralised."""
    if value is None:
        return ""
    kind, value = _typed(value, kind)
    if kind == BOOLEAN:
        return neutralise(_word(value, words))
    if kind == PERCENT:
        return f"{float(value) * 100:.2f}%"
    if kind == MONEY:
        return f"{value:.2f}" if isinstance(value, Decimal) else f"{float(value):.2f}"
    if kind in (INT, SECONDS, NUMBER):
        return str(value)
    if kind in (DATE, DATETIME):
        return value.isoformat()
    return neutralise(value)


def _xlsx_text(text: str) -> str:
    text = _XLSX_ILLEGAL.sub("", text)
    return text if len(text) <= XLSX_MAX_TEXT else text[:XLSX_MAX_TEXT - 1] + "…"


def xlsx_cell(sheet, value, kind: str = TEXT, *, words: tuple[str, str] | None = None) -> WriteOnlyCell:
    """One XLSX cell: typed numbers, dates and times; booleans as ``words`` (as in ``csv_cell``); every text a
    string cell, formula-like ones quote-prefixed."""
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    kind, value = _typed(value, kind)
    if kind == BOOLEAN:
        kind, value = TEXT, _word(value, words)
    if kind == TEXT:
        text = _xlsx_text(value)
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # openpyxl stores a str starting with "=" as a formula otherwise
        if text.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
        return cell
    if kind == DATETIME:
        value = value.replace(tzinfo=None)
    elif kind in (MONEY, PERCENT) or (kind == NUMBER and isinstance(value, Decimal)):
        value = float(value)
    cell = WriteOnlyCell(sheet, value=value)
    if kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def _values(row, columns: Sequence[Column]) -> list:
    if isinstance(row, Mapping):
        return [row.get(column.key) for column in columns]
    values = list(row)
    if len(values) != len(columns):
        raise ValueError(f"A row has {len(values)} values for {len(columns)} columns.")
    return values


# Headers


def header_label(column: Column, style: str = HEADER_LABEL) -> str:
    """The header of a column in the current language: its label, its code, or ``Label (code)``."""
    label = str(column.label)
    if style == HEADER_CODE:
        return column.key
    if style == HEADER_BOTH and label != column.key:
        return f"{label} ({column.key})"
    return label


def header_code(header: str) -> str:
    """The code of a ``Label (code)`` header (or the header itself): what a script reading the file keys on."""
    header = header.lstrip(BOM).strip()
    match = _HEADER_CODE.search(header)
    return match.group(1) if match else header


# CSV


class _Echo:
    def write(self, value: str) -> str:
        return value


def _same_column(column: Column) -> tuple[str, str]:
    """Columns of two tables share a place in the CSV when they have the same key and the same label."""
    return column.key, str(column.label)


def _columns_of_every_table(tables: Sequence[ExportTable]) -> list[Column]:
    """Each column once, every table's columns in their own order: a column first met in a later table goes just
    before the next of its table's columns already placed (a funnel's ``value`` before the steps' columns), else
    last. Columns are the same by key and label (``c0`` of two tables that name it differently are two columns)."""
    placed: list[Column] = []
    for table in tables:
        ids = [_same_column(column) for column in table.columns]
        for index, column in enumerate(table.columns):
            known = [_same_column(c) for c in placed]
            if ids[index] in known:
                continue
            following = next((other for other in ids[index + 1:] if other in known), None)
            placed.insert(known.index(following) if following else len(placed), column)
    return placed


def csv_lines(report: Report) -> Iterator[str]:
    """The report as CSV text, line by line, a byte-order mark first.

    With several tables, a first column names the table each row belongs to, and the header holds every table's
    columns once (``_columns_of_every_table``): a row fills its own table's columns and leaves the others empty, so
    one header describes every row and a script keys on it (``pandas.read_csv`` reads the whole file).
    Labels and titles are resolved now, in the caller's language, not later while a response streams.
    """
    writer = csv.writer(_Echo())
    several = len(report.tables) > 1
    union = _columns_of_every_table(report.tables) if several else (report.tables[0].columns if report.tables else [])
    positions = {_same_column(column): index for index, column in enumerate(union)}
    header = ([_("Table")] if several else []) + [neutralise(header_label(c, report.header)) for c in union]
    titles = [neutralise(str(table.title)) for table in report.tables]
    # placed now too: a column is found by its label, which must not be looked up again in another language
    table_places = [[positions[_same_column(column)] for column in table.columns] for table in report.tables]
    words = yes_no()

    def lines() -> Iterator[str]:
        yield BOM
        yield writer.writerow(header)
        for title, table, places in zip(titles, report.tables, table_places, strict=True):
            columns = table.columns
            if not several:  # the large exports: the cells in the table's own order
                for row in table.rows:
                    yield writer.writerow([csv_cell(value, column.kind, words=words)
                                           for value, column in zip(_values(row, columns), columns, strict=True)])
                continue
            for row in table.rows:
                cells = [""] * len(union)
                for place, value, column in zip(places, _values(row, columns), columns, strict=True):
                    cells[place] = csv_cell(value, column.kind, words=words)
                yield writer.writerow([title, *cells])

    return lines()


def csv_write(report: Report, target, *, progress: Callable[[int], None] | None = None) -> int:
    """Write the CSV to a path; returns the rows written (header excluded)."""
    written = 0
    with open(target, "w", encoding="utf-8", newline="") as handle:
        lines = csv_lines(report)
        handle.write(next(lines))  # the BOM
        handle.write(next(lines))  # the header
        for line in lines:
            handle.write(line)
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(written)
    return written


def csv_text(report: Report) -> str:
    """The whole CSV as one string (small files and tests; a response streams ``csv_lines`` instead)."""
    return "".join(csv_lines(report))


# XLSX


def sheet_title(title: str, used: set[str]) -> str:
    """A sheet name XLSX accepts (31 characters, none of ``[]:*?/\\``), unique within the workbook."""
    clean = _XLSX_ILLEGAL.sub("", "".join("_" if ch in "[]:*?/\\" else ch for ch in title)).strip("'")[:31]
    clean = clean or "Sheet"
    candidate, n = clean, 2
    while candidate.lower() in {name.lower() for name in used}:
        suffix = f" ({n})"
        candidate, n = clean[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def _width(column: Column) -> int:
    if column.width:
        return column.width
    return {TEXT: 24, DATETIME: 20, DATE: 12, BOOLEAN: 10}.get(column.kind, 14)


def xlsx_write(report: Report, target, *, progress: Callable[[int], None] | None = None) -> int:
    """Write the report as a workbook (a sheet per table) to a path or binary file; returns the rows written."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    written = 0
    words = yes_no()
    for table in report.tables:
        sheet = workbook.create_sheet(sheet_title(str(table.title), used))
        columns = table.columns
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _width(column)
        sheet.freeze_panes = "A2"  # write-only sheets take it before the first row
        header = []
        for column in columns:
            cell = xlsx_cell(sheet, header_label(column, report.header))
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([xlsx_cell(sheet, value, column.kind, words=words)
                          for value, column in zip(_values(row, columns), columns, strict=True)])
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(written)
    if not report.tables:
        workbook.create_sheet(_("Empty"))
    workbook.save(target)
    return written


def xlsx_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    xlsx_write(report, buffer)
    return buffer.getvalue()


# Responses


def _attach(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def csv_response(report: Report, *, filename: str | None = None) -> StreamingHttpResponse:
    """A streamed CSV download (flat memory at any size)."""
    response = StreamingHttpResponse(csv_lines(report), content_type=CSV_CONTENT_TYPE)
    return _attach(response, filename or f"{report.name}.csv")


def xlsx_response(report: Report, *, filename: str | None = None) -> HttpResponse:
    """An XLSX download, built in memory: bound the rows first (large ones belong in an export job)."""
    response = HttpResponse(xlsx_bytes(report), content_type=XLSX_CONTENT_TYPE)
    return _attach(response, filename or f"{report.name}.xlsx")


def file_response(report: Report, file_format: str, *, filename: str | None = None) -> HttpResponse:
    """``csv_response`` or ``xlsx_response`` by ``file_format`` ("csv" or "xlsx")."""
    if file_format == "xlsx":
        return xlsx_response(report, filename=filename)
    if file_format == "csv":
        return csv_response(report, filename=filename)
    raise ValueError(f"Unknown file format {file_format!r}; csv or xlsx.")

