"""The nightly customer refresh, kept by django-celery-beat so an administrator can change it in the admin."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Nightly customer refresh"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "users.tasks.customers_refresh_task", "crontab": crontab, "enabled": True,
                  "description": "Rebuild customers, life-cycle stages and RFM scores from the events."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0001_customers"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
