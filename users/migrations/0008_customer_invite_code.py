"""Customers keep their own invite code, so a sign-up naming a code resolves to its referrer (issue 14).

PostgreSQL computes the code with pgcrypto's ``digest`` (a trusted extension since PostgreSQL 13); SQLite with the
``SHA1`` function Django registers. Existing customers are filled in one UPDATE."""

from django.db import migrations, models


def pgcrypto(apps, schema_editor):
    """pgcrypto's ``digest`` (PostgreSQL); kept when migrating back: analytics matches codes with it too."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")


def fill_codes(apps, schema_editor):
    from ops_platform.core.invites import invite_code_sql

    table = apps.get_model("users", "Customer")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET invite_code = {invite_code_sql('distinct_id')}")  # noqa: S608


class Migration(migrations.Migration):

    dependencies = [
        ("users", "0007_lifecycle_defaults"),
    ]

    operations = [
        migrations.RunPython(pgcrypto, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="customer",
            name="invite_code",
            field=models.CharField(blank=True, default="", max_length=12, verbose_name="invite code"),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["invite_code"], name="customer_invite_code"),
        ),
    ]
