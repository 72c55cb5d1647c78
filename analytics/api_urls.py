from django.urls import include, path

from analytics import apis, naming_apis, report_apis

urlpatterns = [
    path("analytics/exports/", apis.ExportJobCreateApi.as_view(), name="export-create"),
    path("analytics/exports/download/", apis.ExportDownloadApi.as_view(), name="export-download"),
    path("analytics/exports/<uuid:job_id>/", apis.ExportJobDetailApi.as_view(), name="export-detail"),
    path("analytics/exports/<uuid:job_id>/file/", apis.ExportJobFileApi.as_view(), name="export-file"),
    path("analytics/exports/<uuid:job_id>/retry/", apis.ExportJobRetryApi.as_view(), name="export-retry"),
    path("analytics/aarrr/", apis.AarrrDailyListApi.as_view(), name="aarrr-list"),
    path("analytics/aarrr/overview/", apis.AarrrOverviewApi.as_view(), name="aarrr-overview"),
    path("analytics/metrics-runs/", apis.MetricsRunListApi.as_view(), name="metrics-run-list"),
    path("analytics/metrics-runs/backfill/", apis.MetricsBackfillApi.as_view(), name="metrics-backfill"),
    path("analytics/funnel/", report_apis.FunnelApi.as_view(), name="analytics-funnel"),
    path("analytics/retention/", report_apis.RetentionApi.as_view(), name="analytics-retention"),
    path("analytics/golden-time/", report_apis.GoldenTimeApi.as_view(), name="analytics-golden-time"),
    path("analytics/trends/", report_apis.TrendsApi.as_view(), name="analytics-trends"),
    path("analytics/stickiness/", report_apis.StickinessApi.as_view(), name="analytics-stickiness"),
    path("events/batch/", apis.EventBatchIngestApi.as_view(), name="event-batch-ingest"),
    path("ingest/", include("analytics.sdk_urls")),  # the tracking SDKs' formats
    path("analytics/ingest-keys/", apis.IngestKeyListApi.as_view(), name="ingest-key-list"),
    path("analytics/name-mappings/", naming_apis.NameMappingListApi.as_view(), name="name-mapping-list"),
    path("analytics/name-mappings/preview/", naming_apis.NameMappingPreviewApi.as_view(), name="name-mapping-preview"),
    path("analytics/name-mappings/<id:pk>/", naming_apis.NameMappingDetailApi.as_view(), name="name-mapping-detail"),
    path("analytics/ingest-keys/create/", apis.IngestKeyCreateApi.as_view(), name="ingest-key-create"),
    path("analytics/ingest-keys/<id:pk>/revoke/", apis.IngestKeyRevokeApi.as_view(), name="ingest-key-revoke"),
]
