import secrets
import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.selectors import event_count
from ops_platform.core.roles import Role
from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = (
        "Load the demo data set: one staff account per role, merchants, requirement tickets and a realistic "
        "event stream. Reproducible: the same --seed and --end give the same data, and a rerun stores nothing new. "
        "With DJANGO_DEBUG=0 it refuses unless --force, and then gives each new account a random password, printed "
        "once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20_000, help="Customers to simulate (default 20000).")
        parser.add_argument("--days", type=int, default=90, help="Days of history ending on --end (default 90).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--end", help="Last day of the history, YYYY-MM-DD (default: yesterday).")
        parser.add_argument("--merchants", type=int, default=240, help="Merchants to create (default 240).")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when events are already stored (what `make run` uses).")
        parser.add_argument("--force", action="store_true",
                            help="Load the demo with DJANGO_DEBUG=0 too; the new accounts get random passwords.")

    def handle(self, *args, **options):
        debug = settings.DEBUG_FROM_ENV
        if not debug and not options["force"]:
            raise CommandError(
                "DJANGO_DEBUG=0: this looks like production, and the demo creates an administrator and one account "
                "per role. Refused. To load it anyway, run seed_demo --force: each new account then gets a random "
                "password, printed once (the demo password is never used outside debug).")
        # Outside debug no account gets a password anyone could know.
        passwords = None if debug else {role.value: secrets.token_urlsafe(12) for role in Role}
        if options["customers"] < 1 or options["days"] < 1 or options["merchants"] < 1:
            raise CommandError("--customers, --days and --merchants must each be at least 1.")
        end = None
        if options["end"]:
            try:
                end = date.fromisoformat(options["end"])
            except ValueError:
                raise CommandError(f"--end must be a date as YYYY-MM-DD, got {options['end']!r}.") from None
        if options["if_empty"] and event_count() > 0:
            self.stdout.write("Events are already stored: demo data not loaded (drop --if-empty to add it anyway).")
            self._print_logins(created=[], passwords=passwords)
            return

        started = time.monotonic()
        bar = tqdm(total=0, unit="event", unit_scale=True, desc="seed_demo", file=self.stderr,
                   disable=options["verbosity"] == 0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        result = demo_seed(customers=options["customers"], days=options["days"], seed=options["seed"], end=end,
                           merchants=options["merchants"], progress=progress, passwords=passwords)
        bar.close()
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"Demo data for {result.date_from} … {result.date_to}: {result.events_stored:,} of "
            f"{result.events_generated:,} events stored ({result.events_generated - result.events_stored:,} "
            f"already there), {result.customers:,} customers, {result.merchants_created} new merchants, "
            f"{result.tickets_created} new tickets, in {elapsed:.1f} s."
        ))
        self._print_logins(created=result.staff_created, passwords=passwords)

    def _print_logins(self, *, created: list[str], passwords: dict[str, str] | None) -> None:
        if passwords is None:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for role in Role:
                self.stdout.write(f"  {role.value:<13} / {DEMO_PASSWORD}")
            return
        if created:
            self.stdout.write("Demo logins, with passwords generated now and shown only this once:")
            for username in created:
                self.stdout.write(f"  {username:<13} / {passwords[username]}")
        kept = [role.value for role in Role if role.value not in created]
        if kept:
            self.stdout.write(f"Accounts that already existed keep their passwords: {', '.join(kept)}.")
