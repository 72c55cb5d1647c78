from django.urls import path

from analytics import apis

urlpatterns = [
    path("analytics/metrics-runs/", apis.MetricsRunListApi.as_view(), name="metrics-run-list"),
    path("events/batch/", apis.EventBatchIngestApi.as_view(), name="event-batch-ingest"),
    path("analytics/ingest-keys/", apis.IngestKeyListApi.as_view(), name="ingest-key-list"),
    path("analytics/ingest-keys/create/", apis.IngestKeyCreateApi.as_view(), name="ingest-key-create"),
    path("analytics/ingest-keys/<int:pk>/revoke/", apis.IngestKeyRevokeApi.as_view(), name="ingest-key-revoke"),
]
