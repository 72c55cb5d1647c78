from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from ops_platform.accounts.models import Staff


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Ops Platform", {"fields": ("language",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
