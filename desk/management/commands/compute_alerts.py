from datetime import date

from django.core.management.base import BaseCommand, CommandError

from desk.services.alerts import alerts_compute


class Command(BaseCommand):
    help = ("Compute the desk's alerts (channel quality, merchants at risk, tracking violations, failed runs): exactly "
            "what the nightly task runs. Idempotent: one alert per kind, subject and day.")

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
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.by_kind.items())) or "none"
        self.stdout.write(f"Alerts for {result.day}: {result.found} found ({kinds}), {result.created} new.")
