from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ops_platform.core"
    label = "core"
