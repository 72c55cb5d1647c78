from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("aarrr/", views.aarrr_overview, name="aarrr"),
    path("aarrr/recompute/", views.aarrr_recompute, name="aarrr-recompute"),
    path("exports/", views.export_list, name="exports"),
    path("exports/start/", views.export_start, name="export-start"),
    path("funnel/", views.funnel_page, name="funnel"),
    path("retention/", views.retention_page, name="retention"),
    path("golden-time/", views.golden_time_page, name="golden-time"),
]
