from django.shortcuts import render

from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Area
from ops_platform.dashboard.selectors import dashboard_summary


@role_required(Area.DASHBOARD)
def home(request):
    summary = dashboard_summary()
    chart = {
        "labels": [row["date"].isoformat() for row in summary["daily_events"]],
        "values": [row["count"] for row in summary["daily_events"]],
    }
    return render(request, "dashboard/home.html", {"summary": summary, "chart": chart})
