from django.contrib import admin

from users.models import ChannelSpend, Customer, LifecycleSettings


@admin.register(LifecycleSettings)
class LifecycleSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "new_days", "active_days", "churn_days"]

    def has_add_permission(self, request):
        return not LifecycleSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChannelSpend)
class ChannelSpendAdmin(admin.ModelAdmin):
    list_display = ["channel", "period_start", "period_end", "amount"]
    list_filter = ["channel"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["distinct_id", "first_seen_at", "first_channel", "orders", "spend", "stage", "rfm_segment"]
    list_filter = ["stage", "rfm_segment"]
    search_fields = ["distinct_id"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
