"""Exactly what the nightly users task runs: customers from the events (life cycle, RFM), then every segment."""

from django.core.management.base import BaseCommand

from users.services.customers import customers_refresh
from users.services.segments import segments_rebuild_all


class Command(BaseCommand):
    help = "Refresh every customer from the events (stage, RFM, flows), then rebuild every segment."

    def handle(self, *args, **options):
        run = customers_refresh(trigger="command")
        self.stdout.write(f"Customers: {run.customers} in {run.seconds or 0:.1f} s ({run.status}).")
        builds = segments_rebuild_all()
        self.stdout.write(f"Segments rebuilt: {len(builds)}.")
