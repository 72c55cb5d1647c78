"""Customers: no index on stage or RFM segment, and (PostgreSQL) pages left 20% free, so the nightly refresh updates
most changed rows in place (HOT: no index entries written) instead of rewriting every index."""

from django.db import migrations


def fillfactor(apps, schema_editor, value: int = 80) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE users_customer SET (fillfactor = {int(value)})")


def fillfactor_back(apps, schema_editor) -> None:
    fillfactor(apps, schema_editor, 100)


class Migration(migrations.Migration):

    dependencies = [
        ("users", "0005_segment_member_composite_key"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customer_stage"),
        migrations.RemoveIndex(model_name="customer", name="customer_rfm"),
        migrations.RunPython(fillfactor, fillfactor_back),
    ]
