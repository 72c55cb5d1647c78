from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = _("Merchant operations")

    def ready(self):
        from merchants import report_files  # noqa: F401 - registers the tiers' file
        from merchants.labels import labels_register
        from merchants.reports import reports_register

        reports_register()
        labels_register()
