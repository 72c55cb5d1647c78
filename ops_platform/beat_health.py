"""Celery beat's health: the beat process touches a heartbeat file on every tick (ops_platform/beat.py, at least every
few seconds with the database scheduler), and its container's health check asks whether the file is fresh:

    python -m ops_platform.beat_health          # exit 0 when beat ticked in the last BEAT_HEARTBEAT_MAX_AGE seconds

Reads only the environment (no Django set-up), so the check is cheap enough to run every 30 s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

MAX_AGE_SECONDS = 60


def heartbeat_path() -> Path:
    return Path(os.environ.get("CELERY_BEAT_HEARTBEAT_FILE") or Path(tempfile.gettempdir()) / "ops-platform-beat.alive")


def heartbeat_age(path: Path | None = None) -> float | None:
    """Seconds since beat last ticked, None when it never did (or the file is gone)."""
    try:
        return time.time() - (path or heartbeat_path()).stat().st_mtime
    except FileNotFoundError:
        return None


def main() -> int:
    max_age = float(os.environ.get("BEAT_HEARTBEAT_MAX_AGE") or MAX_AGE_SECONDS)
    age = heartbeat_age()
    if age is None:
        print(f"celery beat has not ticked yet ({heartbeat_path()} is missing)", file=sys.stderr)
        return 1
    if age > max_age:
        print(f"celery beat last ticked {age:.0f}s ago (more than {max_age:.0f}s)", file=sys.stderr)
        return 1
    print(f"celery beat ticked {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
