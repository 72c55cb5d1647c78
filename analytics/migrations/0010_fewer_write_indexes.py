"""Two indexes that every write paid for and no query reads (bench/ingest_http.py):

- ``analytics_event.person_id`` had the index Django gives every foreign key, beside ``event_person_ts (person_id,
  timestamp)``, which serves every lookup by person;
- ``analytics_person.distinct_id`` had, beside its unique index, the ``varchar_pattern_ops`` index Django adds for
  ``unique=True`` on PostgreSQL (for LIKE, which no query runs on it). The uniqueness is now a named constraint, added
  before the old one is dropped.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0009_columns_schedule"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="person",
            field=models.ForeignKey(db_constraint=False, db_index=False,
                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                    to="analytics.person"),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(fields=("distinct_id",), name="person_distinct_id_unique"),
        ),
        migrations.AlterField(
            model_name="person",
            name="distinct_id",
            field=models.CharField(max_length=200),
        ),
    ]
