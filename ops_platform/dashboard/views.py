from django.shortcuts import render
from django.utils.translation import gettext as _

from desk.selectors import desk_for
from insights.selectors import dashboards_pinned_for
from insights.services.results import dashboard_grid
from ops_platform.core.chart_markers import chart_markers
from ops_platform.core.periods import DAY, period_is_complete
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Area
from ops_platform.dashboard.selectors import dashboard_summary


@role_required(Area.DASHBOARD)
def home(request):
    pinned = dashboards_pinned_for(user=request.user)
    if pinned:  # the team's own dashboard replaces the platform block under the desk
        return render(request, "dashboard/home.html", {
            "pinned": [dashboard_grid(user=request.user, dashboard=dashboard) for dashboard in pinned],
            "desk": desk_for(user=request.user)})
    summary = dashboard_summary()
    days = summary["daily_events"]
    chart = {
        "labels": [row["date"].isoformat() for row in days],
        "values": [row["count"] for row in days],
        # today is in progress: its bar is hatched, "so far" in the tooltip (static/js/charts.js)
        "partial": [str(_("so far")) if not period_is_complete(row["date"], DAY) else None for row in days],
        "markers": [{"date": m["date"].isoformat(), "label": m["label"]}
                    for m in chart_markers(date_from=days[0]["date"], date_to=days[-1]["date"])] if days else [],
    }
    return render(request, "dashboard/home.html", {"summary": summary, "chart": chart,
                                                   "desk": desk_for(user=request.user)})
