from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from tqdm import tqdm

from analytics.models import MetricsRun
from analytics.selectors import event_date_span
from analytics.services.metrics import date_chunks, metrics_run_execute
from analytics.tasks import metrics_backfill_queue


def _parse(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Compute and store the daily AARRR metrics: exactly what the nightly task runs. Without options: "
        "yesterday (local time). Idempotent: a rerun replaces the rows of its days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="One day, YYYY-MM-DD.")
        parser.add_argument("--from", dest="date_from", help="First day of a range, YYYY-MM-DD.")
        parser.add_argument("--to", dest="date_to", help="Last day of a range, YYYY-MM-DD (default: yesterday).")
        parser.add_argument("--all", action="store_true",
                            help="Every day from the first stored event to the last one (at most today).")
        parser.add_argument("--queue", action="store_true",
                            help="Send the range to the Celery workers as week-long tasks that run in parallel, "
                                 "instead of computing here (the runs show on the dashboard).")

    def handle(self, *args, **options):
        yesterday = timezone.localdate() - timedelta(days=1)
        chosen = [bool(options["date"]), bool(options["date_from"] or options["date_to"]), options["all"]]
        if sum(chosen) > 1:
            raise CommandError("Give one of --date, --from/--to or --all.")
        if options["all"]:
            span = event_date_span()
            if span is None:
                self.stdout.write("No events stored: nothing to compute.")
                return
            date_from, date_to = span[0], min(span[1], timezone.localdate())
        elif options["date"]:
            date_from = date_to = _parse(options["date"], "--date")
        elif options["date_from"] or options["date_to"]:
            if not options["date_from"]:
                raise CommandError("--to needs --from.")
            date_from = _parse(options["date_from"], "--from")
            date_to = _parse(options["date_to"], "--to") if options["date_to"] else yesterday
        else:
            date_from = date_to = yesterday
        if date_from > date_to:
            raise CommandError(f"--from {date_from} is after --to {date_to}.")

        if options["queue"]:
            queued = metrics_backfill_queue(date_from=date_from, date_to=date_to)
            self.stdout.write(self.style.SUCCESS(
                f"Queued {queued} task(s) for {date_from} … {date_to}; follow them on the dashboard."))
            return

        chunks = date_chunks(date_from=date_from, date_to=date_to)
        total_rows = 0
        failed: list[tuple[date, date, str]] = []
        with tqdm(total=(date_to - date_from).days + 1, unit="day", desc="compute_metrics",
                  disable=options["verbosity"] == 0, file=self.stderr) as bar:
            for chunk_from, chunk_to in chunks:
                # A week that fails does not stop the range: the others are computed, the failed ones listed at the
                # end (each is a MetricsRun marked failed with its error). A lost connection is tried once more.
                for attempt in (1, 2):
                    try:
                        run = metrics_run_execute(date_from=chunk_from, date_to=chunk_to,
                                                  trigger=MetricsRun.Trigger.COMMAND)
                    except (OperationalError, InterfaceError) as exc:
                        if attempt == 1:
                            connection.close()
                            continue
                        failed.append((chunk_from, chunk_to, f"{type(exc).__name__}: {exc}"))
                    except Exception as exc:
                        failed.append((chunk_from, chunk_to, f"{type(exc).__name__}: {exc}"))
                    else:
                        total_rows += run.rows
                    break
                bar.update((chunk_to - chunk_from).days + 1)
        done = len(chunks) - len(failed)
        summary = f"AARRR metrics stored for {date_from} … {date_to}: {total_rows} rows in {done} run(s)."
        if not failed:
            self.stdout.write(self.style.SUCCESS(summary))
            return
        self.stdout.write(summary)
        for chunk_from, chunk_to, error in failed:
            self.stderr.write(f"FAILED {chunk_from} … {chunk_to}: {error.splitlines()[0][:300]}")
        raise CommandError(f"{len(failed)} of {len(chunks)} run(s) failed: "
                           + ", ".join(f"{f} … {t}" for f, t, _ in failed)
                           + ". Run the command again for those dates.")
