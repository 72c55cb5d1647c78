"""The four built-in checks of the night become rules with the thresholds they had in code (a channel's rate down by
more than 20 % with 20 new visitors in both weeks; 5 merchants named in an at-risk alert; a ticket with at least one
bad event; a merchant run STARTED for 6 hours), which administrators now change or switch off."""

from django.db import migrations

DEFAULTS = [
    ("channel_quality", "Channel quality dropped", "drop", 0.2, {"min_visitors": 20}),
    ("merchant_at_risk", "Merchants fell to at-risk", "", None, {"named": 5}),
    ("tracking_violations", "Tracking-plan violations", "", 1, {}),
    ("run_failed", "A nightly run failed", "", None, {"stuck_hours": 6}),
]


def create_rules(apps, schema_editor):
    AlertRule = apps.get_model("desk", "AlertRule")
    for kind, name, condition, threshold, options in DEFAULTS:
        AlertRule.objects.get_or_create(kind=kind, defaults={
            "name": name, "condition": condition, "threshold": threshold, "options": options, "enabled": True,
            "severity": "critical" if kind == "run_failed" else "warning", "period": "week"})


def remove_rules(apps, schema_editor):
    apps.get_model("desk", "AlertRule").objects.exclude(kind="insight").delete()


class Migration(migrations.Migration):
    dependencies = [("desk", "0005_alert_rules_links")]
    operations = [migrations.RunPython(create_rules, remove_rules)]
