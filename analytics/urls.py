from django.urls import path

from analytics import report_views, views

app_name = "analytics"
urlpatterns = [
    path("aarrr/", views.aarrr_overview, name="aarrr"),
    path("aarrr/recompute/", views.aarrr_recompute, name="aarrr-recompute"),
    path("exports/", views.export_list, name="exports"),
    path("exports/start/", views.export_start, name="export-start"),
    path("exports/<uuid:job_id>/retry/", views.export_retry, name="export-retry"),
    path("funnel/", views.funnel_page, name="funnel"),
    path("retention/", views.retention_page, name="retention"),
    path("golden-time/", views.golden_time_page, name="golden-time"),
    path("trends/", report_views.trends_page, name="trends"),
    path("stickiness/", report_views.stickiness_page, name="stickiness"),
    path("funnel/export/", report_views.funnel_export, name="funnel-export"),
    path("retention/export/", report_views.retention_export, name="retention-export"),
    path("golden-time/export/", report_views.golden_time_export, name="golden-time-export"),
    path("trends/export/", report_views.trends_export, name="trends-export"),
    path("stickiness/export/", report_views.stickiness_export, name="stickiness-export"),
    path("ingest-keys/", views.ingest_keys, name="ingest-keys"),
    path("ingest-keys/new/", views.ingest_key_create_page, name="ingest-key-create"),
    path("ingest-keys/<id:pk>/revoke/", views.ingest_key_revoke_page, name="ingest-key-revoke"),
]
