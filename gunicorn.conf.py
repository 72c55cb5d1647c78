"""gunicorn's settings for the web container (it reads this file from its working directory) and for the ingestion
benchmark (bench/ingest_http.py), which runs the same number of workers.

Sync workers, as many as gunicorn's documentation recommends, (2 × cores) + 1: a worker waiting on the database
(a commit, a row lock) leaves its core to another. ``WEB_CONCURRENCY`` sets the number instead.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
