from django.urls import path

from insights import apis

D = "dashboards/<id:dashboard_id>/"
urlpatterns = [
    path("insights/", apis.InsightListCreateApi.as_view(), name="insight-list"),
    path("insights/kinds/", apis.ReportKindListApi.as_view(), name="insight-kinds"),
    path("insights/<id:insight_id>/", apis.InsightDetailApi.as_view(), name="insight-detail"),
    path("insights/<id:insight_id>/duplicate/", apis.InsightDuplicateApi.as_view(), name="insight-duplicate"),
    path("insights/<id:insight_id>/result/", apis.InsightResultApi.as_view(), name="insight-result"),
    path("dashboards/", apis.DashboardListCreateApi.as_view(), name="dashboard-list"),
    path(D, apis.DashboardDetailApi.as_view(), name="dashboard-detail"),
    path(D + "results/", apis.DashboardResultsApi.as_view(), name="dashboard-results"),
    path(D + "refresh/", apis.DashboardRefreshApi.as_view(), name="dashboard-refresh"),
    path(D + "pin/", apis.DashboardPinApi.as_view(), name="dashboard-pin"),
    path(D + "tiles/", apis.DashboardTileCreateApi.as_view(), name="dashboard-tile-create"),
    path(D + "tiles/order/", apis.DashboardTileOrderApi.as_view(), name="dashboard-tile-order"),
    path(D + "tiles/<id:tile_id>/", apis.DashboardTileDetailApi.as_view(), name="dashboard-tile-detail"),
    path(D + "tiles/<id:tile_id>/result/", apis.DashboardTileResultApi.as_view(), name="dashboard-tile-result"),
    path("annotations/", apis.AnnotationListCreateApi.as_view(), name="annotation-list"),
    path("annotations/<id:annotation_id>/", apis.AnnotationDetailApi.as_view(), name="annotation-detail"),
    path("subscriptions/", apis.SubscriptionListCreateApi.as_view(), name="subscription-list"),
    path("subscriptions/<id:subscription_id>/", apis.SubscriptionDetailApi.as_view(), name="subscription-detail"),
]
