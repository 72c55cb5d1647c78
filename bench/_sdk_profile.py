"""CPU of one ingestion request in one process: the batch API against the Segment and PostHog endpoints.

Each path gets the same kind of 1,000-event batches (bench/ingest_http.py's synthetic events, fresh uuids), posted
through Django's test client into a scratch PostgreSQL database; the figure is the process's CPU time per request
(parsing, translation, validation, the loader's Python side and the driver; not PostgreSQL's backend). Paths
alternate. Used for bench/RESULTS.md, "Tracking SDK endpoints".

    .venv/bin/python bench/_sdk_profile.py [--requests 12]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time

import orjson
from _common import django_on, manage, postgres_available, scratch_postgres
from ingest_http import synthetic_events
from ingest_sdk import posthog_bodies, segment_bodies


def main() -> dict[str, list[float]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--database", default="opsbench_sdk_profile")
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL is not reachable (BENCH_PG_URL): this benchmark needs it.")
    url = scratch_postgres(args.database)
    manage("migrate", "--no-input", env={"DATABASE_URL": url})
    django_on(url)
    from django.test import Client

    from analytics.services.keys import ingest_key_create

    raw_key = ingest_key_create(name="profile")[1]
    count = 1000 * args.requests

    def batches(seed: int) -> list[dict]:
        return synthetic_events(count, customers=3000, seed=seed)

    paths = {
        "batch API": ("/api/v1/events/batch/", {"HTTP_X_INGEST_KEY": raw_key},
                      [orjson.dumps({"batch": chunk}) for chunk in _chunks(batches(1))]),
        "Segment": ("/api/v1/ingest/segment/v1/batch",
                    {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()},
                    segment_bodies(batches(2), 1000, identity=False)[0]),
        "PostHog": ("/api/v1/ingest/posthog/batch/", {}, posthog_bodies(batches(3), 1000, raw_key, compress=False)),
    }
    client = Client()
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for index in range(args.requests):
        for name, (path, headers, bodies) in paths.items():
            started = time.process_time()
            response = client.generic("POST", path, bodies[index], content_type="application/json",
                                      HTTP_HOST="127.0.0.1", **headers)
            cpu[name].append((time.process_time() - started) * 1000)
            if response.status_code != 200 or orjson.loads(response.content)["accepted"] != 1000:
                raise RuntimeError(f"{name}: {response.status_code} {response.content[:200]!r}")
    reference = statistics.median(cpu["batch API"])
    for name, values in cpu.items():
        print(f"{name}: median {statistics.median(values):.1f} ms CPU per 1,000-event request "
              f"(min {min(values):.1f}), {statistics.median(values) / reference:.2f} × the batch API")
    return cpu


def _chunks(events: list[dict]) -> list[list[dict]]:
    return [events[i:i + 1000] for i in range(0, len(events), 1000)]


if __name__ == "__main__":
    main()
