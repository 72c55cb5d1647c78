from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.services.columns import BUILD_LAG_DAYS, columns_build, columns_build_through, supported


class Command(BaseCommand):
    help = (
        "Pack each complete UTC day's events into the event columns the funnels read (PostgreSQL only): every day "
        "up to the day before yesterday that has events and no columns yet, and every day whose events were "
        "written since it was built. Exactly what the hourly and nightly tasks run; a second run finds nothing to do. "
        "One build runs at a time: this one waits for a running build to end."
    )

    def add_arguments(self, parser):
        parser.add_argument("--through", help="Last UTC day to build, YYYY-MM-DD (default: the day before "
                                              "yesterday; later days are still arriving).")

    def handle(self, *args, **options):
        if not supported():
            self.stdout.write("Event columns are kept on PostgreSQL only; this database reads the events directly.")
            return
        through = columns_build_through()
        if options["through"]:
            try:
                through = date.fromisoformat(options["through"])
            except ValueError:
                raise CommandError(f"--through must be a date as YYYY-MM-DD, got {options['through']!r}.") from None
        if through > columns_build_through():
            raise CommandError(f"--through {through} is too recent: the last {BUILD_LAG_DAYS} UTC days are still being "
                               f"written to and are read from the events; the latest is {columns_build_through()}.")
        with tqdm(unit="day", desc="build_event_columns", disable=options["verbosity"] == 0,
                  file=self.stderr) as bar:
            def progress(done, total, day):
                bar.total = total
                bar.set_postfix_str(str(day))
                bar.update(1)

            def waiting():
                self.stderr.write("Another build of the event columns is running: waiting for it to end, then "
                                  "building what it left.")

            result = columns_build(through=through, progress=progress, on_wait=waiting)
        self.stdout.write(self.style.SUCCESS(
            f"Event columns built for {result.days} day(s) through {through}: {result.events:,} events."))
