"""Exactly what the nightly goal-progress task runs: store each current goal's value and expected value."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date

from goals.services.progress import goal_progress_record


class Command(BaseCommand):
    help = "Store the progress of every goal whose period holds the date (default yesterday); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--backfill", action="store_true",
                            help="Also every earlier day of each goal's period (the history chart).")

    def handle(self, *args, **options):
        on = parse_date(options["date"]) if options["date"] else timezone.localdate() - timedelta(days=1)
        if on is None:
            raise CommandError("--date must be YYYY-MM-DD.")
        written = goal_progress_record(on=on, backfill=options["backfill"])
        self.stdout.write(f"{written} goal progress rows written for {on.isoformat()}.")
