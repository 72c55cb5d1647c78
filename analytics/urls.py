from django.urls import path

from analytics import report_views, views

app_name = "analytics"
urlpatterns = [
    path("aarrr/", views.aarrr_overview, name="aarrr"),
    path("aarrr/recompute/", views.aarrr_recompute, name="aarrr-recompute"),
    path("exports/", views.export_list, name="exports"),
    path("exports/start/", views.export_start, name="export-start"),
    path("exports/report/", views.export_report_start, name="export-report-start"),
    path("exports/<uuid:job_id>/retry/", views.export_retry, name="export-retry"),
    path("funnel/", views.funnel_page, name="funnel"),
    path("retention/", views.retention_page, name="retention"),
    path("golden-time/", views.golden_time_page, name="golden-time"),
    path("trends/", report_views.trends_page, name="trends"),
    path("stickiness/", report_views.stickiness_page, name="stickiness"),
    path("funnel/export/", report_views.report_export, {"kind": "funnel"}, name="funnel-export"),
    path("retention/export/", report_views.report_export, {"kind": "retention"}, name="retention-export"),
    path("golden-time/export/", report_views.report_export, {"kind": "golden_time"}, name="golden-time-export"),
    path("trends/export/", report_views.report_export, {"kind": "trends"}, name="trends-export"),
    path("stickiness/export/", report_views.report_export, {"kind": "stickiness"}, name="stickiness-export"),
    path("ingest-keys/", views.ingest_keys, name="ingest-keys"),
    path("ingest-keys/new/", views.ingest_key_create_page, name="ingest-key-create"),
    path("ingest-keys/<id:pk>/revoke/", views.ingest_key_revoke_page, name="ingest-key-revoke"),
    path("event-names/", views.name_mappings, name="name-mappings"),
    path("event-names/<id:pk>/delete/", views.name_mapping_delete_page, name="name-mapping-delete"),
]
