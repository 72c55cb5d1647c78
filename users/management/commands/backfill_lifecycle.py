"""Fill the life-cycle history (stage counts and flows per day) from the events, as the nightly refresh would have
recorded it: ``backfill_lifecycle [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--replace]``.

Default: the days from the first event up to the day before the first day already recorded (the gap before the
nightly refreshes' rows, which were recorded with the thresholds of their day and are kept), ending at --to (default
today). ``--from`` replaces the days --from…--to; ``--replace`` replaces every day from the first event to --to with
today's thresholds. Running it twice leaves the same rows."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from users.services.lifecycle_history import lifecycle_history_backfill


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = ("Fill the life-cycle stage counts and flows per day from the events. By default only the days before the "
            "first recorded day (up to --to) are written, keeping what the nightly refreshes recorded; --from "
            "replaces --from…--to, --replace replaces every day up to --to with today's thresholds.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", type=_day, default=None,
                            help="first day to write; the days --from…--to are replaced")
        parser.add_argument("--to", dest="date_to", type=_day, default=None,
                            help="last day (default today); without --from/--replace, capped by the recorded days")
        parser.add_argument("--replace", action="store_true",
                            help="replace the recorded days too (from the first event, or --from)")

    def handle(self, *args, date_from: date | None, date_to: date | None, replace: bool, **options):
        date_to = date_to or timezone.localdate()
        if date_from and date_from > date_to:
            raise CommandError("--from is after --to.")
        days = lifecycle_history_backfill(date_from=date_from, date_to=date_to, replace=replace)
        self.stdout.write(f"Life-cycle history: {days} days written up to {date_to.isoformat()}.")
        if not date_from and not replace:
            self.stdout.write("Days already recorded (by the nightly refresh) were kept; --replace overwrites them.")
