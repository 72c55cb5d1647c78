"""Run a Python module with the test's pinned clock, for the processes a test starts (a Celery worker).

    python -m tests.pinned_clock 2026-11-25T10:00:00+08:00 celery -A ops_platform worker …

The clock starts at the given aware instant and ticks on, as in the test process (tests/conftest.py, _pinned_now).
"""

from __future__ import annotations

import runpy
import sys
from datetime import datetime

import time_machine


def main() -> None:
    moment, module, *arguments = sys.argv[1:]
    time_machine.travel(datetime.fromisoformat(moment), tick=True).start()
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
