"""Event columns: packed per-day copies of the events for the funnel (analytics/services/columns.py).

On PostgreSQL, triggers on the events table record every past UTC day whose events are inserted, changed or deleted
(set-based, once per statement, from the transition tables), so a day's columns are never read once they are out of
date; TRUNCATE forgets every column. The packed arrays are stored uncompressed (``STORAGE EXTERNAL``): they do not
compress, and reading them back is then a plain copy.
"""

import django.utils.timezone
from django.db import migrations, models


# A change is a row per writing statement and past day, never deduplicated: with one row per day (ON CONFLICT DO
# NOTHING), a writer that found the row a running build was deleting would record nothing, and the build, which read
# the day before that writer committed, would leave the day marked clean without its events.
TOUCH_FUNCTION = """
CREATE OR REPLACE FUNCTION analytics_columns_touch() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    today timestamptz := date_trunc('day', statement_timestamp(), 'UTC');
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_columnchange (day, recorded_at)
        SELECT DISTINCT (timestamp AT TIME ZONE 'UTC')::date, statement_timestamp() FROM new_rows
        WHERE timestamp < today;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO analytics_columnchange (day, recorded_at)
        SELECT DISTINCT (timestamp AT TIME ZONE 'UTC')::date, statement_timestamp() FROM old_rows
        WHERE timestamp < today;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analytics_columns_forget() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM analytics_columnblock;
    DELETE FROM analytics_columnday;
    DELETE FROM analytics_columnchange;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_columns_insert AFTER INSERT ON analytics_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_columns_touch();
CREATE TRIGGER analytics_columns_update AFTER UPDATE ON analytics_event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_columns_touch();
CREATE TRIGGER analytics_columns_delete AFTER DELETE ON analytics_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_columns_touch();
CREATE TRIGGER analytics_columns_truncate AFTER TRUNCATE ON analytics_event
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_columns_forget();

ALTER TABLE analytics_columnblock ALTER COLUMN persons SET STORAGE EXTERNAL, ALTER COLUMN times SET STORAGE EXTERNAL,
    ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN codes SET STORAGE EXTERNAL;
"""

DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS analytics_columns_insert ON analytics_event;
DROP TRIGGER IF EXISTS analytics_columns_update ON analytics_event;
DROP TRIGGER IF EXISTS analytics_columns_delete ON analytics_event;
DROP TRIGGER IF EXISTS analytics_columns_truncate ON analytics_event;
DROP FUNCTION IF EXISTS analytics_columns_touch();
DROP FUNCTION IF EXISTS analytics_columns_forget();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TOUCH_FUNCTION)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTIONS)


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0007_event_merchant_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='ColumnChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(db_index=True)),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='ColumnDay',
            fields=[
                ('day', models.DateField(primary_key=True, serialize=False)),
                ('events', models.BigIntegerField(default=0)),
                ('built_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='ColumnBlock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('event', models.CharField(max_length=200)),
                ('events', models.BigIntegerField(default=0)),
                ('channels', models.JSONField(default=list)),
                ('persons', models.BinaryField()),
                ('times', models.BinaryField()),
                ('ids', models.BinaryField()),
                ('codes', models.BinaryField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'event'), name='column_block_day_event')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
