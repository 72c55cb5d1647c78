"""The nightly merchant metrics, kept by django-celery-beat so an administrator can change it in the admin."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Nightly merchant metrics, health and tiers (this week)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "merchants.tasks.merchant_metrics_nightly", "crontab": crontab, "enabled": True,
                  "description": "merchant_metrics_compute for the week holding yesterday (local time)."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("merchants", "0003_metrics_runs"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
