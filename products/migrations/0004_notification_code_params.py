"""Notifications store what happened as a code and its figures, worded when read (products.notification_texts).

Existing rows written in English are read back into a code and figures (status labels back to their codes) so that
they too show in the reader's language; a row in another language, or one that matches no sentence, keeps its
message and no code (it is shown as it was written)."""

import re

from django.db import migrations, models
from django.utils import translation

PATTERNS = [
    ("filed", re.compile(r"^(?P<key>\S+) was filed for you: (?P<title>.*)$", re.S)),
    ("changed", re.compile(r"^(?P<who>\S+) changed (?P<fields>.+) on (?P<key>\S+)$", re.S)),
    ("moved", re.compile(r"^(?P<who>\S+) moved (?P<key>\S+) from (?P<from>.+) to (?P<to>.+)$", re.S)),
    ("mentioned", re.compile(r"^(?P<who>\S+) mentioned you on (?P<key>\S+)$")),
    ("commented", re.compile(r"^(?P<who>\S+) commented on (?P<key>\S+)$")),
    ("iterated", re.compile(r"^(?P<who>\S+) started (?P<child>\S+) as the next iteration of (?P<key>\S+)$")),
    ("plan_ready", re.compile(r"^Tracking plan v(?P<v>\d+) of (?P<key>\S+) is ready for review$")),
    ("plan_reviewed", re.compile(r"^Tracking plan v(?P<v>\d+) of (?P<key>\S+): (?P<status>.+)$")),
    ("feedback_more", re.compile(r"^(?P<n>\d+) more asked for (?P<key>\S+) \((?P<total>\d+) in all\)$")),
]


def _codes_by_label(model, field_name):
    with translation.override("en"):
        return {str(label): code for code, label in model._meta.get_field(field_name).choices}


def _params(code, match, statuses, plan_statuses):
    params = match.groupdict()
    if code == "changed":
        params["fields"] = [name.strip() for name in params["fields"].split(",") if name.strip()]
    if code == "moved":
        if params["from"] not in statuses or params["to"] not in statuses:
            return None
        params["from"], params["to"] = statuses[params["from"]], statuses[params["to"]]
    if code == "plan_reviewed":
        if params["status"] not in plan_statuses:
            return None
        params["status"] = plan_statuses[params["status"]]
    for number in ("v", "n", "total"):
        if number in params:
            params[number] = int(params[number])
    return params


def notifications_coded(apps, schema_editor):
    Notification = apps.get_model("products", "Notification")
    statuses = _codes_by_label(apps.get_model("products", "Ticket"), "status")
    plan_statuses = _codes_by_label(apps.get_model("products", "TrackingPlan"), "status")
    changed = []
    for note in Notification.objects.filter(code="").only("id", "message").iterator(chunk_size=2000):
        for code, pattern in PATTERNS:
            match = pattern.match(note.message)
            if match is None:
                continue
            params = _params(code, match, statuses, plan_statuses)
            if params is not None:
                note.code, note.params = code, params
                changed.append(note)
            break
    Notification.objects.bulk_update(changed, ["code", "params"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0003_nightly_tracking_checks'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='code',
            field=models.CharField(blank=True, default='', max_length=30),
        ),
        migrations.AddField(
            model_name='notification',
            name='params',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(notifications_coded, migrations.RunPython.noop),
    ]
