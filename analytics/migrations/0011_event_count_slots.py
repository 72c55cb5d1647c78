"""Hourly event counts split into slots: concurrent loads on PostgreSQL each add to their own connection's slot, so
they no longer queue on the same hour rows until each other's commit (bench/ingest_http.py). Existing counts become
slot 0; the unique constraint is added before the old one on ``hour`` is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0010_fewer_write_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventcounthourly",
            name="slot",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="eventcounthourly",
            constraint=models.UniqueConstraint(fields=("hour", "slot"), name="event_count_hour_slot"),
        ),
        migrations.AlterField(
            model_name="eventcounthourly",
            name="hour",
            field=models.DateTimeField(),
        ),
    ]
