"""Fill the life-cycle history (stage counts and flows per day) from the events, as the nightly refresh would have
recorded it: ``backfill_lifecycle [--from YYYY-MM-DD] [--to YYYY-MM-DD]`` (default: from the first event to today).
Replaces the days it covers, so running it twice leaves the same rows."""

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
    help = "Fill the life-cycle stage counts and flows per day from the events."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", type=_day, default=None)
        parser.add_argument("--to", dest="date_to", type=_day, default=None)

    def handle(self, *args, date_from: date | None, date_to: date | None, **options):
        date_to = date_to or timezone.localdate()
        if date_from and date_from > date_to:
            raise CommandError("--from is after --to.")
        days = lifecycle_history_backfill(date_from=date_from, date_to=date_to)
        self.stdout.write(f"Life-cycle history: {days} days written up to {date_to.isoformat()}.")
