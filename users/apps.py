from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("User operations")

    def ready(self):
        from users.reports import reports_register

        reports_register()
