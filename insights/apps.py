from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = _("Insights and dashboards")

    def ready(self):
        from insights.labels import labels_register
        from insights.selectors import annotation_markers
        from ops_platform.core.chart_markers import chart_marker_provider_register

        chart_marker_provider_register("annotation", annotation_markers)
        labels_register()
