"""A partial expression index for one merchant's events: ``(properties ->> 'merchant_id', event, timestamp)`` where
the event names a merchant (PostgreSQL only).

The merchant page reads one merchant's orders, funnel and buyers' retention; without it each of those scans every
event of the name in the range and parses its JSON (about 1.2 s each at 10M events). The queries compare
``properties ->> 'merchant_id'`` to the code as text, which implies the index's ``IS NOT NULL`` condition, so the
planner can use it; events without a merchant (most of them) are not in it. SQLite has no need of it at demo sizes.
"""

from django.db import migrations

# CONCURRENTLY: ingestion keeps writing while the index builds (minutes on a large table), hence atomic = False.
CREATE = ("CREATE INDEX CONCURRENTLY IF NOT EXISTS event_merchant_ts ON analytics_event "
          "((properties ->> 'merchant_id'), event, timestamp) WHERE (properties ->> 'merchant_id') IS NOT NULL")
DROP = "DROP INDEX CONCURRENTLY IF EXISTS event_merchant_ts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("analytics", "0006_event_counts")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
