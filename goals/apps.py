from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = _("Team goals")

    def ready(self):
        from goals.reports import reports_register

        reports_register()
