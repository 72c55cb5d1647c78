"""The nightly alerts (after every other nightly job) and the weekly digest (Monday 08:00), kept by
django-celery-beat so an administrator can change them in the admin."""

from django.conf import settings
from django.db import migrations

ALERTS_TASK = "Nightly desk alerts"
DIGEST_TASK = "Weekly team digest"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="4", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=ALERTS_TASK,
        defaults={"task": "desk.tasks.alerts_compute_task", "crontab": nightly, "enabled": True,
                  "description": "Alerts from the nightly run: channel quality, merchants at risk, tracking "
                                 "violations, failed runs."},
    )
    weekly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="8", day_of_week="1", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(
        name=DIGEST_TASK,
        defaults={"task": "desk.tasks.digests_send_task", "crontab": weekly, "enabled": True,
                  "description": "Each team's digest of last week, in-app and by e-mail to every member."},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[ALERTS_TASK, DIGEST_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_alerts_digests"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
