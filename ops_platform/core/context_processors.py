from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from ops_platform.core.roles import Area, can, roles_of
from ops_platform.core.topbar import topbar_counters

# (url name, label, area). An entry whose URL does not exist yet is left out, so the
# navigation grows as the apps land.
NAV_ITEMS = [
    ("dashboard:home", _("Dashboard"), Area.DASHBOARD),
    ("analytics:aarrr", _("AARRR"), Area.ANALYTICS),
    ("analytics:trends", _("Trends"), Area.ANALYTICS),
    ("analytics:stickiness", _("Stickiness"), Area.ANALYTICS),
    ("analytics:funnel", _("Funnels"), Area.ANALYTICS),
    ("analytics:retention", _("Retention"), Area.ANALYTICS),
    ("analytics:golden-time", _("Golden time"), Area.ANALYTICS),
    ("analytics:exports", _("Exports"), Area.ANALYTICS),
    ("insights:dashboards", _("Dashboards"), Area.INSIGHTS),
    ("insights:list", _("Insights"), Area.INSIGHTS),
    ("merchants:list", _("Merchants"), Area.MERCHANTS),
    ("users:customers", _("Customers"), Area.CUSTOMERS),
    ("products:tickets", _("Requirements"), Area.TICKETS),
    ("goals:tree", _("Goals"), Area.GOALS),
    ("analytics:ingest-keys", _("Ingest keys"), Area.INGEST_KEYS),
    ("analytics:name-mappings", _("Event names"), Area.EVENT_NAMES),
    ("admin:index", _("Admin"), Area.ADMIN_SITE),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    items = []
    for url_name, label, area in NAV_ITEMS:
        if not can(user, area):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": request.path == url or (
            url != "/" and request.path.startswith(url))})
    active = [item for item in items if item["active"]]
    if len(active) > 1:  # /insights/dashboards/ is Dashboards only, not also Insights (/insights/)
        longest = max((item["url"] for item in active), key=len)
        for item in active:
            item["active"] = item["url"] == longest
    return {"nav_items": items, "user_roles": sorted(role.value for role in roles_of(user)),
            "topbar_counters": _counters()}


def _counters() -> list[dict]:
    """The apps' top-bar counters: links whose numbers the browser fetches (static/js/topbar.js)."""
    counters = []
    for name, counter in topbar_counters():
        try:
            url, count_url = reverse(counter.url_name), reverse(counter.count_url_name)
        except NoReverseMatch:
            continue
        if counter.count_query:
            count_url = f"{count_url}?{counter.count_query}"
        counters.append({"name": name, "url": url, "label": counter.label, "count_url": count_url})
    return counters
