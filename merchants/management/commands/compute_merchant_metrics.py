"""Exactly what the nightly merchant task runs (idempotent): the last complete week when it was not judged yet (tiers
included), then the week so far; or, with --date, the week holding that date."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from merchants.services.metrics import merchant_metrics_compute, merchant_metrics_nightly_run, week_start


class Command(BaseCommand):
    help = ("Compute the merchant metrics, health scores and tiers: by default what the nightly run does (the last "
            "complete week if not judged yet, then the week so far); --date: the week holding that date.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD, any day of the week (default: the nightly run)")

    def handle(self, *args, **options):
        if options["date"]:
            day = parse_date(options["date"])
            if day is None:
                raise CommandError("--date must be YYYY-MM-DD.")
            runs = [merchant_metrics_compute(period_start=week_start(day))]
        else:
            runs = merchant_metrics_nightly_run()
        for run in runs:
            state = "complete" if run.days >= 7 else f"so far, {run.days} of 7 days"
            self.stdout.write(f"Week of {run.period_start.isoformat()} ({state}): {run.merchants} merchants, "
                              f"{run.tier_changes} tier changes ({run.status}).")
        if not runs:
            self.stdout.write("Nothing to compute: the last complete week is judged and this week has no day yet.")
