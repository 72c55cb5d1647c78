"""The alerts of failed runs and stopped export jobs every 3 minutes (desk.tasks.failed_job_alerts_task), beside the
analytics watchdog that finds them."""

from django.db import migrations

TASK_NAME = "Failed job alerts"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=3, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "desk.tasks.failed_job_alerts_task", "interval": every, "enabled": True,
                  "description": "Raise desk alerts for runs that failed and export jobs a dead worker stopped."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("desk", "0007_digest_by_subscription"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
