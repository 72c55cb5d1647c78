from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from analytics.services.keys import ingest_key_create


class Command(BaseCommand):
    help = (
        "Create an ingest key for a system that sends events. The key is printed alone on the last line of "
        "the output, once: only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who sends events with it, e.g. 'marketplace backend'.")

    def handle(self, *args, **options):
        try:
            key, raw_key = ingest_key_create(name=options["name"])
        except ValidationError as error:
            raise CommandError("; ".join(f"{field}: {' '.join(messages)}"
                                         for field, messages in error.message_dict.items())) from None
        self.stdout.write(f"Ingest key #{key.pk} “{key.name}” created (prefix {key.prefix}). "
                          "Send it in the X-Ingest-Key header; it is not shown again:")
        self.stdout.write(raw_key)
