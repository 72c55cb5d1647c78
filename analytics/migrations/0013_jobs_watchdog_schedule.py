"""The watchdog every 3 minutes (analytics.tasks.jobs_watchdog_task): runs and export jobs a dead worker left started
are marked failed within minutes, not by the next night's job."""

from django.db import migrations

TASK_NAME = "Jobs watchdog"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=3, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "analytics.tasks.jobs_watchdog_task", "interval": every, "enabled": True,
                  "description": "Mark runs and export jobs whose worker died as failed; queue the runs' days again."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("analytics", "0012_person_identity"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
