from django.urls import path

from analytics import apis, report_apis

urlpatterns = [
    path("analytics/metrics-runs/", apis.MetricsRunListApi.as_view(), name="metrics-run-list"),
    path("analytics/funnel/", report_apis.FunnelApi.as_view(), name="analytics-funnel"),
    path("analytics/retention/", report_apis.RetentionApi.as_view(), name="analytics-retention"),
    path("analytics/golden-time/", report_apis.GoldenTimeApi.as_view(), name="analytics-golden-time"),
]
