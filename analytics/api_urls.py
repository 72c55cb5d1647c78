from django.urls import path

from analytics import apis

urlpatterns = [
    path("analytics/aarrr/", apis.AarrrDailyListApi.as_view(), name="aarrr-list"),
    path("analytics/metrics-runs/", apis.MetricsRunListApi.as_view(), name="metrics-run-list"),
    path("analytics/metrics-runs/backfill/", apis.MetricsBackfillApi.as_view(), name="metrics-backfill"),
]
