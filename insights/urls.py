from django.urls import path

from insights import views

app_name = "insights"
urlpatterns = [
    path("", views.insight_list, name="list"),
    path("new/", views.insight_new, name="new"),
    path("<id:insight_id>/", views.insight_detail, name="detail"),
    path("<id:insight_id>/edit/", views.insight_edit, name="edit"),
    path("<id:insight_id>/duplicate/", views.insight_duplicate_view, name="duplicate"),
    path("<id:insight_id>/delete/", views.insight_delete_view, name="delete"),
    path("dashboards/", views.dashboard_list, name="dashboards"),
    path("dashboards/new/", views.dashboard_new, name="dashboard-new"),
    path("dashboards/<id:dashboard_id>/", views.dashboard_detail, name="dashboard"),
    path("dashboards/<id:dashboard_id>/edit/", views.dashboard_edit, name="dashboard-edit"),
    path("dashboards/<id:dashboard_id>/filters/", views.dashboard_filters, name="dashboard-filters"),
    path("dashboards/<id:dashboard_id>/tiles/", views.dashboard_tile_add, name="dashboard-tile-add"),
    path("dashboards/<id:dashboard_id>/tiles/<id:tile_id>/move/", views.dashboard_tile_move,
         name="dashboard-tile-move"),
    path("dashboards/<id:dashboard_id>/tiles/<id:tile_id>/remove/", views.dashboard_tile_remove,
         name="dashboard-tile-remove"),
    path("dashboards/<id:dashboard_id>/pin/", views.dashboard_pin_view, name="dashboard-pin"),
    path("dashboards/<id:dashboard_id>/delete/", views.dashboard_delete_view, name="dashboard-delete"),
    path("dashboards/<id:dashboard_id>/refresh/", views.dashboard_refresh_view, name="dashboard-refresh"),
    path("annotations/", views.annotation_list_view, name="annotations"),
    path("annotations/<id:annotation_id>/delete/", views.annotation_delete_view, name="annotation-delete"),
    path("subscriptions/new/", views.subscription_new, name="subscription-new"),
    path("subscriptions/<id:subscription_id>/", views.subscription_detail, name="subscription"),
    path("subscriptions/<id:subscription_id>/send/", views.subscription_send_view, name="subscription-send"),
    path("subscriptions/<id:subscription_id>/toggle/", views.subscription_toggle_view, name="subscription-toggle"),
    path("subscriptions/<id:subscription_id>/delete/", views.subscription_delete_view, name="subscription-delete"),
]
