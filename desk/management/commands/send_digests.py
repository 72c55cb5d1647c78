from datetime import date

from django.core.management.base import BaseCommand, CommandError

from desk.services.digests import digests_send
from ops_platform.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = ("Build each team's weekly digest and e-mail it to every member in their language: exactly what the "
            "Monday task runs. Idempotent: a digest is stored once per team and week and e-mailed once "
            "per member. Only weeks that have ended are sent.")

    def add_arguments(self, parser):
        parser.add_argument("--week", help="Any day of a week that has ended, YYYY-MM-DD (default: the last "
                                           "complete week).")
        parser.add_argument("--dry-run", action="store_true", help="Build and send nothing; say what would be sent.")

    def handle(self, *args, **options):
        week = None
        if options["week"]:
            try:
                week = date.fromisoformat(options["week"])
            except ValueError:
                raise CommandError(f"--week must be a date as YYYY-MM-DD, got {options['week']!r}.") from None
        try:
            result = digests_send(week=week, dry_run=options["dry_run"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        prefix = "Dry run: would send" if options["dry_run"] else "Sent"
        skipped = f"; already sent: {', '.join(result.skipped)}" if result.skipped else ""
        self.stdout.write(f"{prefix} {result.emailed} digest(s) for the week of {result.week} "
                          f"({result.messages} e-mail(s), {result.built} built){skipped}.")
