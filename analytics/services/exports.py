"""Reports as files: every table downloads as CSV or XLSX.

A report is a list of ``ExportTable`` (one per sheet; a breakdown gets a sheet per value), written by the
project's one export writer (``ops_platform.core.exports``: formulas neutralised, CSV streamed with a BOM, typed
XLSX, times in TIME_ZONE). Large reports run as an ``ExportJob`` on the workers, with progress the page polls.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from analytics.models import AarrrDaily, Event, ExportJob
from analytics.services.retention import retention_average
from ops_platform.core import clock
from ops_platform.core import exports as writer
from ops_platform.core.db import on_working_connection
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.exports import DATETIME, Column, ExportTable, Report
from ops_platform.core.periods import local_range
from ops_platform.core.report_files import report_build, report_file_kinds, report_file_register, report_require
from ops_platform.core.roles import Area
from ops_platform.core.tasks import task_queue

logger = logging.getLogger(__name__)

ITERATOR_CHUNK = 5000


# Report builders: kind → function(params) → Report, in the one registry of downloadable reports
# (``ops_platform.core.report_files``: the domain apps register theirs there too). ``report_register`` is its
# decorator; a reader needs the area it names (``Area.ANALYTICS`` by default; single customers' rows need
# CUSTOMER_RECORDS).

report_register = report_file_register


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
    Column("timestamp", _("Time"), DATETIME), Column("event", _("Event")), Column("distinct_id", _("Customer")),
    Column("channel", _("Channel")), Column("properties", _("Properties")),
]


@report_register("events", area=Area.CUSTOMER_RECORDS, label=_("Raw events"))  # every customer's raw events
def events_report(params: dict) -> Report:
    """Raw events of a date range (local days), one event name or all, oldest first; params as for AARRR."""
    date_from, date_to = date.fromisoformat(str(params["date_from"])), date.fromisoformat(str(params["date_to"]))
    start, end = local_range(date_from, date_to)
    rows = Event.objects.filter(timestamp__gte=start, timestamp__lt=end)
    if params.get("as_of"):  # an export job: the events stored when it was requested, not those that came since
        rows = rows.filter(received_at__lte=datetime.fromisoformat(str(params["as_of"])))
    if params.get("event"):
        rows = rows.filter(event=params["event"])
    values = rows.order_by("timestamp", "id").values_list("timestamp", "event", "distinct_id", "channel",
                                                          "properties")
    return Report(name=f"events_{date_from}_{date_to}",
                  tables=[ExportTable(title=str(_("Events")), columns=EVENT_COLUMNS,
                                      rows=values.iterator(chunk_size=ITERATOR_CHUNK), total=rows.count())])


def retention_report(result: dict, *, name: str) -> Report:
    """A retention result (``retention_compute``) as a table: a row per cohort, the share retained per period, then
    the average row (``retention_average``). A period not started is blank; the period in progress is written as
    text marked "so far" (never a 0 % that reads as a cliff, nor a final-looking share); ``complete`` says how many
    of the cohort's periods have ended."""
    width = max((len(cohort["retained"]) for cohort in result["cohorts"]), default=0)
    word = {"day": _("Day"), "week": _("Week"), "month": _("Month")}.get(result["period"], result["period"])
    columns = [Column("cohort", _("Cohort"), "date"), Column("size", _("Customers"), "int"),
               Column("complete", _("Complete periods"), "int"),
               *[Column(f"p{k}", f"{word} {k}", "percent") for k in range(width)]]
    so_far = str(_("so far"))

    def share(count, size, complete: bool):
        if count is None:
            return None
        value = count / size if size else 0.0
        return value if complete else f"{value * 100:.2f}% ({so_far})"

    rows = [[cohort["cohort"], cohort["size"], cohort["complete"],
             *[share(count, cohort["size"], k < cohort["complete"]) for k, count in enumerate(cohort["retained"])]]
            for cohort in result["cohorts"]]
    if rows:
        rows.append([str(_("Average (complete periods)")), None, None,
                     *[cell["share"] for cell in retention_average(result)]])
    return Report(name=name, tables=[ExportTable(title=str(_("Retention")), columns=columns, rows=rows)])


# Export jobs (large reports on the workers)


def export_job_create(*, kind: str, params: dict, file_format: str, created_by) -> ExportJob:
    """Record the job and queue it once the transaction commits (``export_job_queue``)."""
    if kind not in report_file_kinds():
        message = str(_("Unknown report “%(kind)s”.")) % {"kind": kind}
        raise ApplicationError(message, errors={"kind": [str(_("Choose one of: %(kinds)s.")) % {
            "kinds": ", ".join(report_file_kinds())}]})
    if file_format not in ExportJob.Format.values:
        raise ApplicationError(str(_("Unknown file format.")), errors={"file_format": [str(_("Choose csv or xlsx."))]})
    report_require(user=created_by, kind=kind)
    now = timezone.now()
    # The data as of the request: a job run later (a queue, a retry after a crash) exports what was there then.
    job = ExportJob(kind=kind, params={**params, "as_of": now.isoformat()}, file_format=file_format,
                    language=translation.get_language() or "", created_by=created_by, created_at=now)
    job.full_clean()
    job.save()
    export_job_queue(job=job)
    return job


def export_job_queue(*, job: ExportJob) -> None:
    """Queue the job's task after commit; with the broker down the job is marked failed (retryable), and 503."""
    from analytics.tasks import export_job_run

    def unqueued() -> None:
        ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(),
            error="Not started: the task queue was unavailable. Retry it.")

    task_queue(lambda: export_job_run.delay(str(job.id)), on_failure=unqueued)


def export_job_execute(*, job_id) -> ExportJob:
    """Build the report file of a job, updating its progress; a failure is recorded on the job."""
    job = ExportJob.objects.get(pk=job_id)
    if job.status == ExportJob.Status.DONE:
        return job  # a redelivered task: the file is there
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, started_at=timezone.now(),
                                               rows_done=0, error="")
    # One scratch file per attempt: a retry and a redelivered task may write the same job at once.
    scratch = _scratch_dir() / f"{job.id}.{uuid.uuid4().hex[:12]}.{job.file_format}"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Written as the requester would have read it when they asked: in their language, and judged at that instant
        # (which periods are complete, which conversion windows are open), however late the queue or a retry runs it.
        with translation.override(job.language or settings.LANGUAGE_CODE), clock.as_of(job.created_at):
            report = report_build(kind=job.kind, params=job.params)
            ExportJob.objects.filter(pk=job.pk).update(rows_total=report.total)

            def progress(done: int) -> None:
                ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

            write = writer.xlsx_write if job.file_format == ExportJob.Format.XLSX else writer.csv_write
            rows = write(report, scratch, progress=progress)
        with open(scratch, "rb") as handle:
            job.file.save(f"{report.name}.{job.file_format}", File(handle), save=False)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.DONE, rows_done=rows, file=job.file.name,
                                                   finished_at=timezone.now())
    except Exception as exc:
        logger.exception("Export job %s failed", job.id)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        on_working_connection(lambda: ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), error=error))
        raise
    finally:
        scratch.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _scratch_dir() -> Path:
    """Where jobs' files are written before they are stored (a dead worker leaves its file behind)."""
    return Path(settings.MEDIA_ROOT) / "exports" / "tmp"


def _scratch_remove(job: ExportJob) -> None:
    for path in _scratch_dir().glob(f"{job.id}.*"):
        path.unlink(missing_ok=True)


ABANDONED_EXPORT_ERROR = "Stopped: the worker died before the file was finished. Retry it."
STUCK_IN_QUEUE_ERROR = "Never started: it waited in the queue too long. Retry it."


def export_jobs_abandon(*, older_than: timedelta, queued_longer_than: timedelta) -> list[ExportJob]:
    """Mark jobs whose worker died as failed and remove their partial files; return them.

    Running ``older_than`` after they started (no task outlives its hard time limit), or still queued
    ``queued_longer_than`` after they were requested (their message was lost). A job marked so whose task does run
    later still finishes (``export_job_execute`` runs any job not done).
    """
    now = timezone.now()
    stale = ExportJob.objects.filter(
        Q(status=ExportJob.Status.RUNNING, started_at__lt=now - older_than)
        | Q(status=ExportJob.Status.QUEUED, created_at__lt=now - queued_longer_than))
    abandoned = []
    for job in stale:  # a few at most
        error = ABANDONED_EXPORT_ERROR if job.status == ExportJob.Status.RUNNING else STUCK_IN_QUEUE_ERROR
        if ExportJob.objects.filter(pk=job.pk, status=job.status).update(
                status=ExportJob.Status.FAILED, finished_at=now, error=error):
            _scratch_remove(job)
            job.status, job.error, job.finished_at = ExportJob.Status.FAILED, error, now
            abandoned.append(job)
    return abandoned


RETRYABLE = (ExportJob.Status.FAILED,)


def export_job_retry(*, user, job_id) -> ExportJob:
    """Run a failed export job again, by the person who asked for it: same report, same parameters, read at the same
    instant and in the same language as when it was requested (``export_job_execute``; an events export also keeps
    to the events stored then). Its partial file is removed first. 409 unless it failed (a job stuck running is
    marked failed by the watchdog within minutes)."""
    job = ExportJob.objects.filter(pk=job_id, created_by=user).first() if user.is_authenticated else None
    if job is None:
        raise ApplicationError(_("No such export, or it is not yours."), status_code=404, code="not_found")
    report_require(user=user, kind=job.kind)
    if not ExportJob.objects.filter(pk=job.pk, status__in=RETRYABLE).update(
            status=ExportJob.Status.QUEUED, rows_done=0, rows_total=None, error="", started_at=None,
            finished_at=None, file=""):
        raise ApplicationError(_("Only a failed export can be retried."), status_code=409, code="not_retryable")
    _scratch_remove(job)
    job.refresh_from_db()
    export_job_queue(job=job)
    return job
