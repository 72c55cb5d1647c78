from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ops_platform.accounts.models import ApiToken, Staff


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Ops Platform", {"fields": ("language",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every staff member's API tokens (never their secrets); an administrator revokes any of them."""

    list_display = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    exclude = ("key_hash", "password_stamp")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is shown once to its owner: made on the tokens page or at POST /api/v1/auth/token/

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%(n)d tokens revoked.") % {"n": count})
