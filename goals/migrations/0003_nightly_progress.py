"""The nightly goal progress, kept by django-celery-beat so an administrator can change it in the admin. It runs
after the nightly AARRR (02:00), tracking checks (02:30), merchant metrics (03:00) and customers (03:15)."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Nightly goal progress"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "goals.tasks.goal_progress_task", "crontab": crontab, "enabled": True,
                  "description": "Store each current goal's value and the value expected at an even pace."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("goals", "0002_goals"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
