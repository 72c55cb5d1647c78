"""Exactly what the nightly tracking task runs: every launched ticket's events against its approved plan."""

from django.core.management.base import BaseCommand

from products.services.plans import tracking_checks_run_launched


class Command(BaseCommand):
    help = "Check the events of every launched or analysing ticket against its approved tracking plan."

    def handle(self, *args, **options):
        checks = tracking_checks_run_launched()
        self.stdout.write(f"{len(checks)} tickets checked.")
