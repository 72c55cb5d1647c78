import time

from django.core.management.base import BaseCommand

from analytics.services.facts import event_counts_rebuild, person_facts_rebuild


class Command(BaseCommand):
    help = (
        "Recompute what every write of events keeps up to date — per-customer first-touch facts, events per hour "
        "and name, people seen — from the stored events. Needed only after events were written around events_load "
        "(a bulk COPY, a restore) or deleted. On PostgreSQL the events table's triggers keep the hourly counts for "
        "every write, but a data-only restore that also copies the count rows counts twice until this runs."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        people = person_facts_rebuild()
        event_counts_rebuild()
        self.stdout.write(self.style.SUCCESS(
            f"Facts of {people:,} people and the event counts rebuilt in {time.monotonic() - started:.1f} s."))
