from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("User operations")

    def ready(self):
        from users import report_files  # noqa: F401 - registers the reports' files
        from users.cohorts import cohorts_register
        from users.reports import reports_register

        reports_register()
        cohorts_register()
