"""The hourly event counts per event name too, and kept by triggers on the events table (PostgreSQL): exact for every
writer — a load, ``import_events``, a bulk ``COPY``, a change, a delete, a truncate — so a trends ``total`` without
filters and the golden-time grid read them instead of the events, packed days or not. The loads no longer add to
them on PostgreSQL (``analytics/services/loading.py``); on SQLite they still do, per name now.

The counts are taken again from the stored events, under a lock that holds writers off until this migration commits,
so none is counted twice or missed. The events table is locked first, before the counts table: a load in flight
holds the events, then waits for the counts, and the other order deadlocks with it. Deploy order: stop ingestion (or
accept its retries), migrate, start the new code — a load of the old code names the old unique constraint and fails
once this has committed."""

from django.db import migrations, models

# Once per writing statement, set-based from its transition tables: what it added less what it removed, per name and
# hour, into the connection's own slot (concurrent loads do not queue on one row; 8 = facts.COUNTER_SLOTS), in
# (event, hour) order so that writers lock rows in one order. An UPDATE that moves no event between names or hours
# (an identity merge sets person_id) nets to nothing and writes nothing; PostgreSQL allows no column list on an UPDATE
# trigger with transition tables, so every UPDATE runs it. ``date_bin`` from 2000-01-01 UTC is the UTC hour, in
# arithmetic (``date_trunc`` in a named zone looks the zone up per row).
FUNCTIONS = """
CREATE OR REPLACE FUNCTION analytics_event_counts_add() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_eventcounthourly AS c (event, hour, slot, events)
        SELECT event, date_bin('1 hour', timestamp, timestamptz '2000-01-01 00:00+00'), mod(pg_backend_pid(), 8),
               count(*)
        FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (event, hour, slot) DO UPDATE SET events = c.events + excluded.events;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_eventcounthourly AS c (event, hour, slot, events)
        SELECT event, date_bin('1 hour', timestamp, timestamptz '2000-01-01 00:00+00'), mod(pg_backend_pid(), 8),
               -count(*)
        FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (event, hour, slot) DO UPDATE SET events = c.events + excluded.events;
    ELSE
        INSERT INTO analytics_eventcounthourly AS c (event, hour, slot, events)
        SELECT event, hour, mod(pg_backend_pid(), 8), sum(n) FROM (
            SELECT event, date_bin('1 hour', timestamp, timestamptz '2000-01-01 00:00+00') AS hour, 1 AS n
            FROM new_rows
            UNION ALL
            SELECT event, date_bin('1 hour', timestamp, timestamptz '2000-01-01 00:00+00'), -1 FROM old_rows
        ) AS moved GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
        ON CONFLICT (event, hour, slot) DO UPDATE SET events = c.events + excluded.events;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analytics_event_counts_forget() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM analytics_eventcounthourly;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_event_counts_insert AFTER INSERT ON analytics_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_event_counts_add();
CREATE TRIGGER analytics_event_counts_update AFTER UPDATE ON analytics_event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION analytics_event_counts_add();
CREATE TRIGGER analytics_event_counts_delete AFTER DELETE ON analytics_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_event_counts_add();
CREATE TRIGGER analytics_event_counts_truncate AFTER TRUNCATE ON analytics_event
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_event_counts_forget();

DELETE FROM analytics_eventcounthourly;
INSERT INTO analytics_eventcounthourly (event, hour, slot, events)
SELECT event, date_bin('1 hour', timestamp, timestamptz '2000-01-01 00:00+00'), 0, count(*) FROM analytics_event
GROUP BY 1, 2;
"""

DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS analytics_event_counts_insert ON analytics_event;
DROP TRIGGER IF EXISTS analytics_event_counts_update ON analytics_event;
DROP TRIGGER IF EXISTS analytics_event_counts_delete ON analytics_event;
DROP TRIGGER IF EXISTS analytics_event_counts_truncate ON analytics_event;
DROP FUNCTION IF EXISTS analytics_event_counts_add();
DROP FUNCTION IF EXISTS analytics_event_counts_forget();
"""


def lock_events(apps, schema_editor):
    """Writers wait from here until the migration commits (PostgreSQL runs it in one transaction)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("LOCK TABLE analytics_event IN SHARE ROW EXCLUSIVE MODE")


def count_by_name(apps, schema_editor):
    """PostgreSQL: the triggers, and the counts of the stored events; SQLite: the counts (its loads keep them)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS)
        return
    from datetime import UTC

    from django.db.models import Count
    from django.db.models.functions import TruncHour

    event, hourly = apps.get_model("analytics", "Event"), apps.get_model("analytics", "EventCountHourly")
    hourly.objects.all().delete()
    rows = (event.objects.annotate(hour=TruncHour("timestamp", tzinfo=UTC)).values("event", "hour")
            .annotate(n=Count("id")).order_by("event", "hour"))
    hourly.objects.bulk_create([hourly(event=row["event"], hour=row["hour"], events=row["n"]) for row in rows],
                               batch_size=1000)


def count_by_hour(apps, schema_editor):
    """Backwards: one row an hour again (slot 0), the loads keep them as before."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTIONS)
    hourly = apps.get_model("analytics", "EventCountHourly")
    totals = {}
    for hour, events in hourly.objects.values_list("hour", "events"):
        totals[hour] = totals.get(hour, 0) + events
    hourly.objects.all().delete()
    hourly.objects.bulk_create([hourly(hour=hour, slot=0, events=n) for hour, n in sorted(totals.items()) if n],
                               batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0017_column_values"),
    ]

    operations = [
        migrations.RunPython(lock_events, lock_events),
        migrations.RemoveConstraint(model_name="eventcounthourly", name="event_count_hour_slot"),
        migrations.AddField(
            model_name="eventcounthourly",
            name="event",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddConstraint(
            model_name="eventcounthourly",
            constraint=models.UniqueConstraint(fields=("event", "hour", "slot"), name="event_count_event_hour_slot"),
        ),
        migrations.AddIndex(
            model_name="eventcounthourly",
            index=models.Index(fields=["hour"], name="event_count_hour"),
        ),
        migrations.RunPython(count_by_name, count_by_hour),
    ]
