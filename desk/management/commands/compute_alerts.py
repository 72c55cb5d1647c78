from datetime import date

from django.core.management.base import BaseCommand, CommandError

from desk.services.alerts import alerts_compute
from desk.tasks import notification_emails_queue


class Command(BaseCommand):
    help = ("Compute the desk's alerts (the built-in rules: channel quality, merchants at risk, tracking violations, "
            "failed runs; and the rules people set on insights): exactly what the nightly task runs. Idempotent: one "
            "alert per kind, subject and day.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to compute for, YYYY-MM-DD (default: today).")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date must be a date as YYYY-MM-DD, got {options['date']!r}.") from None
        result = alerts_compute(day=day)
        notification_emails_queue(result.to_email)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.by_kind.items())) or "none"
        self.stdout.write(f"Alerts for {result.day}: {result.found} found ({kinds}), {result.created} new.")
