from django.urls import path

from ops_platform.dashboard.apis import DashboardSummaryApi

urlpatterns = [path("dashboard/summary/", DashboardSummaryApi.as_view(), name="dashboard-summary")]
