"""Goal progress on the demo data set: the nightly record, the backfill of every day of the periods and the goals
tree, for the demo's goals and for many copies of them. The query count must not grow with the goals (one grouped
query per metric family); the time grows with goals × days.

A scratch PostgreSQL database gets the default demo data set (seed 42, fixed end date), then the steps run in this
process inside a transaction that is rolled back.

    .venv/bin/python bench/goals_progress.py [--copies 40] [--runs 3]
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from _common import django_on, machine, manage, median, postgres_available, scratch_postgres

END = date(2026, 10, 30)


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not postgres_available():
        return ["## Goal progress", "", "PostgreSQL not available: skipped."]
    env = {"DATABASE_URL": scratch_postgres("opsbench_goals")}
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", "--seed", "42", "--end", END.isoformat(), "--verbosity", "0", env=env)
    django_on(env["DATABASE_URL"])

    import time

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from goals.models import Goal
    from goals.selectors import goal_tree
    from goals.services.progress import goal_progress_record

    def measure(label: str, fn) -> str:
        times, queries = [], 0
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as context:
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
            queries = len(context)
        return f"| {label} | {median(times) * 1000:.0f} | {queries} |"

    lines = ["## Goal progress (nightly record, backfill, goals tree)", "",
             f"Machine: {machine()}. PostgreSQL, default demo data set (20,000 customers, 90 days to {END}), its "
             f"goals and {args.copies} copies of each; median of {args.runs} runs.", "",
             "| step | median (ms) | queries |", "|---|---|---|"]
    with transaction.atomic():
        base = list(Goal.objects.all())
        for copies in (0, args.copies):
            Goal.objects.bulk_create([
                Goal(**{f.attname: getattr(g, f.attname) for f in Goal._meta.concrete_fields
                        if f.attname not in ("id", "parent_id")}) for _ in range(copies) for g in base])
            goals = Goal.objects.count()
            lines.append(measure(f"nightly record, {goals} goals", lambda: goal_progress_record(on=END)))
            lines.append(measure(f"backfill of the periods to {END}, {goals} goals",
                                 lambda: goal_progress_record(on=END, backfill=True)))
            lines.append(measure(f"goals tree, {goals} goals", lambda: goal_tree(on=END - timedelta(days=0))))
            print("\n".join(lines[-3:]), flush=True)
        transaction.set_rollback(True)
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
