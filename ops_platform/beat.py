"""The beat scheduler: django-celery-beat's database scheduler (schedule editable in /admin/), which also touches a
heartbeat file on every tick, so a container health check can tell a live beat from a hung or dead one
(ops_platform/beat_health.py)."""

from __future__ import annotations

from django_celery_beat.schedulers import DatabaseScheduler

from ops_platform.beat_health import heartbeat_path


class HeartbeatScheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        path = heartbeat_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return interval
