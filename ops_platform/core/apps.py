from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "ops_platform.core"
    label = "core"

    def ready(self) -> None:
        from ops_platform.core.fields import AnyTextConverter, IdConverter

        register_converter(IdConverter, "id")  # before any URLconf is imported
        register_converter(AnyTextConverter, "text")
