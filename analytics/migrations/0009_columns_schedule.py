"""The nightly build of the event columns (before the metrics: the funnels of the day read them)."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Nightly event columns"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "analytics.tasks.build_event_columns_nightly", "crontab": crontab, "enabled": True,
                  "description": "build_event_columns: pack each complete day's events for the funnels."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("analytics", "0008_event_columns"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
