"""Queueing work for the workers without lying about it when the broker is down.

``task_queue(send, on_failure=…)`` sends once the caller's transaction commits (never a task that runs before its row
is committed). If the broker does not take the message (Redis down: a few quick tries, CELERY_TASK_PUBLISH_RETRY_POLICY)
``on_failure`` undoes what the request recorded (an export job is marked failed, not left "queued" for ever) and
``ServiceUnavailable`` is raised: the API answers 503 in its error format with Retry-After, a page says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ops_platform.core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

BROKER_DOWN_ERRORS = (KombuOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def task_queue(send: Callable[[], object], *, on_failure: Callable[[], None] | None = None) -> None:
    """Call ``send`` (e.g. ``lambda: export_job_run.delay(job_id)``) once the current transaction commits.

    When the broker refuses, ``on_failure`` runs and ``ServiceUnavailable`` is raised (out of the ``atomic`` block
    that committed, or at once outside one).
    """

    def run() -> None:
        try:
            send()
        except BROKER_DOWN_ERRORS as exc:
            logger.warning("Could not queue a task, the broker is unavailable: %s: %s", type(exc).__name__, exc)
            if on_failure is not None:
                on_failure()
            raise ServiceUnavailable(str(_("The task queue is unavailable; nothing was started. Try again in a "
                                           "minute."))) from exc

    transaction.on_commit(run)
