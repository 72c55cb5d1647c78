"""The event columns built every hour (analytics.tasks.build_event_columns_task), at a quarter past: a day is packed
within the hour it becomes buildable (past the day before yesterday, UTC) or is written to again, not only at night.
With nothing to do a run is a few small reads."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Hourly event columns"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "analytics.tasks.build_event_columns_task", "crontab": crontab, "enabled": True,
                  "description": "build_event_columns: pack the days that need it (new complete days, days written "
                                 "to since their build) soon after they are written."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("analytics", "0015_column_properties"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
