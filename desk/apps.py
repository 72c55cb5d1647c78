from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = _("Daily desk")

    def ready(self):
        from desk.models import Alert
        from desk.reports import reports_register
        from ops_platform.core.labels import vocabulary_register
        from ops_platform.core.topbar import TopbarCounter, topbar_counter_register

        reports_register()
        vocabulary_register("alert_severity", dict(Alert.Severity.choices))
        topbar_counter_register("alerts", TopbarCounter(
            url_name="desk:notifications", label=_("Alerts"), count_url_name="alert-notification-list",
            count_query="unread=true&page_size=1"))
