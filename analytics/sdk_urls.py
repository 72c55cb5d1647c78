"""The tracking SDKs' endpoints, under /api/v1/ingest/ (the "host" each SDK is given: README, "Tracking SDKs").

No trailing slash where the SDK sends none (Segment's ``/v1/batch``, Sensors Data's ``/sa``)."""

from django.urls import path

from analytics.sdk_apis import PostHogIngestApi, SegmentIngestApi, SensorsIngestApi

SEGMENT_TYPES = ("track", "identify", "page", "screen", "alias", "group")

urlpatterns = [
    path("segment/v1/batch", SegmentIngestApi.as_view(), name="ingest-segment-batch"),
    *[path(f"segment/v1/{kind}", SegmentIngestApi.as_view(message_type=kind), name=f"ingest-segment-{kind}")
      for kind in SEGMENT_TYPES],
    # analytics.js (analytics-next) posts to one-letter paths under its apiHost, with ``writeKey`` in the body.
    path("segment/v1/b", SegmentIngestApi.as_view(), name="ingest-segment-b"),
    *[path(f"segment/v1/{kind[0]}", SegmentIngestApi.as_view(message_type=kind), name=f"ingest-segment-{kind[0]}")
      for kind in SEGMENT_TYPES if kind != "screen"],
    path("posthog/batch/", PostHogIngestApi.as_view(), name="ingest-posthog-batch"),
    path("posthog/capture/", PostHogIngestApi.as_view(), name="ingest-posthog-capture"),
    path("posthog/e/", PostHogIngestApi.as_view(), name="ingest-posthog-e"),
    path("posthog/i/v0/e/", PostHogIngestApi.as_view(), name="ingest-posthog-i-e"),
    path("sensors/sa", SensorsIngestApi.as_view(), name="ingest-sensors"),
    path("sensors/sa.gif", SensorsIngestApi.as_view(), name="ingest-sensors-gif"),
]
