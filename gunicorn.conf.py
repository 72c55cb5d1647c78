"""gunicorn's settings for the web container (it reads this file from its working directory) and for the ingestion
benchmark (bench/ingest_http.py), which runs the same number of workers.

Sync workers, three unless ``WEB_CONCURRENCY`` says otherwise. Each keeps a database connection open, so count them
against PostgreSQL's ``max_connections`` (100 by default) with the Celery workers' when raising the number. On two
cores, five workers (gunicorn's (2 × cores) + 1) measured no better than three at ingestion (bench/RESULTS.md).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
