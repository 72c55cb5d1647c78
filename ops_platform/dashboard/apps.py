from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ops_platform.dashboard"
    label = "dashboard"
