from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = _("Product operations")

    def ready(self):
        from ops_platform.core.chart_markers import chart_marker_provider_register
        from products.selectors import launch_markers

        chart_marker_provider_register("launch", launch_markers)
