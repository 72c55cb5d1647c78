"""Time limits on what a request may ask of the database.

A report computed on request (a funnel, a retention table, a tracking check) runs with a PostgreSQL
``statement_timeout`` of ``REPORT_TIMEOUT_SECONDS`` (default 30): a query still running then is cancelled by the
server and the person is told, in a 503 with the API's error format or on the page, to ask for less. Exports stream
after the view returns and are not limited (they are long by design and read in chunks); Celery tasks have their own
time limits (``CELERY_TASK_SOFT_TIME_LIMIT``).

The setting is sent on the driver's connection, not through Django's cursor: it is a session setting, not a read,
and the pinned query counts of the pages stay what they were. SQLite has no such setting; the report caps (range,
steps, events read) bound it there. This module imports no app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils.translation import gettext as _

from ops_platform.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)
T = TypeVar("T")
DATABASE_GONE = (OperationalError, InterfaceError)
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


class ReportTimeout(ApplicationError):
    """A report query outlived ``REPORT_TIMEOUT_SECONDS`` and was cancelled (503, code ``report_timeout``)."""

    def __init__(self, seconds: float):
        super().__init__(
            _("This report took longer than %(seconds)d seconds and was stopped. Ask for a shorter date range, fewer "
              "steps or no breakdown, or export it in the background.") % {"seconds": seconds},
            status_code=503, code="report_timeout")


def _cancelled(error: BaseException) -> bool:
    cause = error.__cause__ or error.__context__
    return getattr(cause, "sqlstate", None) == QUERY_CANCELED


@contextmanager
def statement_timeout(seconds: float | None = None) -> Iterator[None]:
    """Run the block with a statement timeout (PostgreSQL); a cancelled query becomes ``ReportTimeout``."""
    seconds = settings.REPORT_TIMEOUT_SECONDS if seconds is None else seconds
    if connection.vendor != "postgresql" or not seconds:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    raw.execute(f"SET statement_timeout = {int(seconds * 1000)}")
    try:
        yield
    except OperationalError as error:
        if _cancelled(error):
            logger.warning("A report query was cancelled after %s s", seconds)
            raise ReportTimeout(seconds) from error
        raise
    finally:
        try:
            raw.execute("RESET statement_timeout")
        except Exception:  # the connection is unusable (a failed transaction still open): drop it rather than reuse
            logger.warning("Could not reset statement_timeout; closing the connection", exc_info=True)
            connection.close()


def on_working_connection(write: Callable[[], T]) -> T | None:
    """Run ``write`` (recording a failure) on a connection that works, even when the failure was the connection.

    A run that failed because its connection was lost must not record that over the same dead connection (its
    record stayed "started" with no error): outside a transaction the broken connection is closed and ``write``
    runs on a fresh one. Inside the caller's transaction nothing can be recorded apart from it: logged, not raised.
    """
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    try:
        return write()
    except DATABASE_GONE as exc:
        if connection.in_atomic_block:
            logger.warning("Could not record a failure inside the caller's transaction: %s", exc)
            return None
        connection.close()
        return write()
