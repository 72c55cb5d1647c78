"""Goal progress on the demo data: the nightly record, the backfill and the goals tree, for the demo's goals and
for N copies of each (the query count must not grow with the goals; the time grows with goals × days).

Runs against the configured database (after `make run` / seed_demo) inside a transaction that is rolled back.

    .venv/bin/python bench/goals_progress.py [--copies 40] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_platform.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from goals.models import Goal  # noqa: E402
from goals.selectors import goal_tree  # noqa: E402
from goals.services.progress import goal_progress_record  # noqa: E402


class Rollback(Exception):
    pass


def measure(label: str, runs: int, fn) -> str:
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as context:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        queries = len(context)
    return f"| {label} | {statistics.median(times) * 1000:.0f} ms | {queries} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    today = timezone.localdate()
    lines = [f"database: {connection.vendor}", "| step | median | queries |", "|---|---|---|"]
    try:
        with transaction.atomic():
            base = list(Goal.objects.all())
            if not base:
                raise SystemExit("No goals: run seed_demo first.")
            for goals in (len(base), len(base) * (args.copies + 1)):
                if goals > len(base):
                    Goal.objects.bulk_create([
                        Goal(**{f.attname: getattr(g, f.attname) for f in Goal._meta.concrete_fields
                                if f.attname not in ("id", "parent_id")}) for _ in range(args.copies) for g in base])
                lines.append(measure(f"nightly record, {goals} goals", args.runs,
                                     lambda: goal_progress_record(on=today - timedelta(days=1))))
                lines.append(measure(f"backfill to today, {goals} goals", args.runs,
                                     lambda: goal_progress_record(on=today, backfill=True)))
                lines.append(measure(f"goals tree, {goals} goals", args.runs, lambda: goal_tree(on=today)))
            raise Rollback
    except Rollback:
        pass
    print("\n".join(lines))


if __name__ == "__main__":
    main()
