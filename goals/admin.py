from django.contrib import admin

from goals.models import Goal, GoalProgress, Team, TeamMembership


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    inlines = [TeamMembershipInline]


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["title", "level", "period_kind", "period_start", "team", "owner", "metric", "target"]
    list_filter = ["level", "period_kind", "metric", "team"]
    raw_id_fields = ["parent", "owner", "created_by"]
    search_fields = ["title"]


@admin.register(GoalProgress)
class GoalProgressAdmin(admin.ModelAdmin):
    list_display = ["goal", "date", "value", "expected"]
    list_filter = ["date"]
    raw_id_fields = ["goal"]
