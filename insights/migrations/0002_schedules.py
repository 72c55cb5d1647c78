"""Beat entries of the insights app: due subscriptions every 5 minutes, and every dashboard's tiles recomputed at
05:00 after the night's runs (so the morning opens warm). Kept by django-celery-beat, editable in the admin."""

from django.conf import settings
from django.db import migrations

SUBSCRIPTIONS_TASK = "Insight subscriptions (due e-mails)"
REFRESH_TASK = "Dashboards refresh (after the night)"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=SUBSCRIPTIONS_TASK, defaults={
        "task": "insights.tasks.subscriptions_due_task", "interval": every_five, "enabled": True,
        "description": "E-mails the insights and dashboards whose scheduled time has come."})
    morning, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="5", day_of_week="*", day_of_month="*",
                                                       month_of_year="*", timezone=settings.TIME_ZONE)
    PeriodicTask.objects.get_or_create(name=REFRESH_TASK, defaults={
        "task": "insights.tasks.dashboards_refresh_nightly", "crontab": morning, "enabled": True,
        "description": "Recomputes every dashboard's tiles after the nightly runs and alerts."})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[SUBSCRIPTIONS_TASK, REFRESH_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
