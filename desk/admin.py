from django.contrib import admin

from desk.models import Alert, Digest, DigestDelivery


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["day", "kind", "severity", "subject", "audience_team_kind", "audience_role", "audience_user",
                    "acknowledged_at"]
    list_filter = ["kind", "severity", "day"]
    raw_id_fields = ["audience_user", "acknowledged_by"]


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["week", "team", "created_at", "emailed_at", "emailed_to"]
    list_filter = ["team"]


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ["digest", "user", "email", "sent_at"]
    raw_id_fields = ["digest", "user"]
