"""A raw-events CSV export of about 1,000,000 rows through the API, streamed: time and peak memory.

Target (analytics issue): a 1,000,000-row CSV export streamed with peak memory under 300 MB. Each run is a
fresh process (peak RSS is per process) against the 10M-event synthetic data set; median of --runs runs.

    .venv/bin/python bench/export_csv.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import ROOT, machine, median
from _synthetic import synthetic_database

TARGET_MB = 300
CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, os.environ["OPS_ROOT"])
import django
django.setup()
from django.test import RequestFactory
from analytics.apis import ExportDownloadApi
from ops_platform.accounts.models import Staff
from ops_platform.accounts.services import staff_create

staff = Staff.objects.filter(username="bench").first() or staff_create(username="bench", password="bench-pass-123",
                                                                       roles=["analyst"])
request = RequestFactory().get("/api/v1/analytics/exports/download/", {
    "kind": "events", "file_format": "csv", "date_from": sys.argv[1], "date_to": sys.argv[2]})
from rest_framework.test import force_authenticate
force_authenticate(request, user=staff)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
response = ExportDownloadApi.as_view()(request)
lines = size = 0
for chunk in response.streaming_content:
    lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    size += len(chunk)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": response.status_code, "rows": lines - 1, "bytes": size, "seconds": elapsed,
                  "rss_before_mb": before / 1024, "peak_rss_mb": peak / 1024}))
"""


def main() -> list[str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--from", dest="date_from", default="2026-10-29")
    parser.add_argument("--to", dest="date_to", default="2026-10-31")
    args = parser.parse_args()
    url = synthetic_database(customers=1_000_000, events=10_000_000, days=90, log=lambda m: print(m, flush=True))
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="ops_platform.settings", OPS_ROOT=str(ROOT))
    results = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, args.date_from, args.date_to], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    assert all(r["status"] == 200 for r in results)
    seconds = median([r["seconds"] for r in results])
    peak = median([r["peak_rss_mb"] for r in results])
    rows = results[0]["rows"]
    return [
        "## Streaming CSV export",
        "",
        f"Machine: {machine()}. The `events` report for {args.date_from} … {args.date_to} of the 10M-event synthetic "
        f"set ({rows:,} rows, {results[0]['bytes'] / 1e6:.0f} MB of CSV) through `GET /api/v1/analytics/exports/"
        f"download/`, consumed in a fresh process per run; median of {args.runs} runs.",
        "",
        "| rows | seconds | rows/s | peak RSS of the process (MB) | ratio to the 300 MB target | "
        "RSS after Django start (MB) |",
        "|---|---|---|---|---|---|",
        f"| {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {peak:.0f} | {peak / TARGET_MB:.2f} | "
        f"{median([r['rss_before_mb'] for r in results]):.0f} |",
    ]


if __name__ == "__main__":
    print("\n".join(main()))
