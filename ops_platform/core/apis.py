from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from ops_platform.core.health import health_report


@never_cache
def health(request):
    """For load balancers, docker-compose and monitoring: each dependency's state (``core/health.py``).

    200 while the web can serve (``status`` "ok", or "degraded" when the cache or the broker is down); 503 when a
    required dependency (the database) is down.
    """
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
