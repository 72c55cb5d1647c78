"""The weekly team digest is now a default subscription of each team's digest dashboard (insights): the fixed
Monday task is switched off (left in place, paused, so an administrator sees what replaced it)."""

from django.db import migrations

DIGEST_TASK = "Weekly team digest"


def pause(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DIGEST_TASK).update(
        enabled=False, description="Replaced by each team's digest dashboard and its Monday subscription (insights).")


def resume(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DIGEST_TASK).update(enabled=True)


class Migration(migrations.Migration):
    dependencies = [("desk", "0006_builtin_alert_rules"), ("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(pause, resume)]
