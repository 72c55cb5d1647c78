from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = _("Product operations")

    def ready(self):
        from products import report_files  # noqa: F401 - registers the ticket lists' file
        from products.reports import reports_register

        reports_register()
        from ops_platform.core.chart_markers import chart_marker_provider_register
        from ops_platform.core.topbar import TopbarCounter, topbar_counter_register
        from products.selectors import launch_markers

        chart_marker_provider_register("launch", launch_markers)
        topbar_counter_register("notifications", TopbarCounter(
            url_name="products:notifications", label=_("Notifications"),
            count_url_name="notification-list", count_query="unread=true&page_size=1"))
