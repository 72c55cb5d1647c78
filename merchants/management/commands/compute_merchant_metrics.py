"""Exactly what the nightly merchant task runs: one week's metrics, health, diagnosis and tiers (idempotent)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date

from merchants.services.metrics import merchant_metrics_compute, week_start


class Command(BaseCommand):
    help = "Compute the merchant metrics, health scores and tiers of the week holding the date (default yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD, any day of the week (default: yesterday)")

    def handle(self, *args, **options):
        day = parse_date(options["date"]) if options["date"] else timezone.localdate() - timedelta(days=1)
        if day is None:
            raise CommandError("--date must be YYYY-MM-DD.")
        run = merchant_metrics_compute(period_start=week_start(day))
        self.stdout.write(f"Week of {run.period_start.isoformat()}: {run.merchants} merchants, "
                          f"{run.tier_changes} tier changes ({run.status}).")
