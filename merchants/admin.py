from django.contrib import admin

from merchants.models import LossReason, Merchant, RecruitmentTarget, StageSetting, TierRules


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "city", "stage", "tier", "owner"]
    list_filter = ["stage", "tier", "city", "category"]
    search_fields = ["code", "name"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]


admin.site.register(LossReason)
admin.site.register(StageSetting)
admin.site.register(RecruitmentTarget)


@admin.register(TierRules)
class TierRulesAdmin(admin.ModelAdmin):
    """Versioned: saving never changes a version in force, it adds the next one (the newest applies)."""

    list_display = ["version", "core_min_score", "core_min_orders", "potential_min_score", "potential_min_orders",
                    "at_risk_max_score", "rotate_out_periods", "buffer_points", "buffer_orders", "confirm_weeks",
                    "created_by", "created_at"]
    readonly_fields = ["version", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        latest = TierRules.objects.order_by("-version").values_list("version", flat=True).first() or 0
        obj.pk = None
        obj.version = latest + 1
        obj.created_by = request.user
        obj.save()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
