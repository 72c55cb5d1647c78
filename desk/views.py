"""Pages of the desk. Thin: parse, check, call one service or selector, render or redirect.

The desk itself is the home page (``dashboard:home`` renders ``desk_for``); here are the actions taken from it and
the team digests.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from desk import selectors
from desk.services.alerts import alert_acknowledge
from desk.services.digests import digest_context, digest_report
from merchants.views import follow_up_done_then
from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area

HOME = "dashboard:home"


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def follow_up_done(request, contact_id: int):
    """Clear a due follow-up from the desk: the merchants page's own action, back to the desk."""
    return follow_up_done_then(request, contact_id, back=HOME)


@role_required(Area.DESK, Action.CHANGE)
@require_POST
def alert_acknowledge_view(request, alert_id: int):
    try:
        alert_acknowledge(user=request.user, alert_id=alert_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, _("Alert acknowledged."))
    return redirect(HOME)


@role_required(Area.DESK)
def digest_list(request):
    digests = list(selectors.digest_list(user=request.user)[:200])
    return render(request, "desk/digest_list.html", {"digests": digests})


def _readable(request, digest_id: int):
    digest = selectors.digest_get(digest_id=digest_id)
    if digest is None:
        raise Http404(_("No such digest."))
    if not selectors.digest_can_read(user=request.user, digest=digest):
        raise PermissionDenied(_("This digest is for its team's members."))
    return digest


@role_required(Area.DESK)
def digest_detail(request, digest_id: int):
    digest = _readable(request, digest_id)
    return render(request, "desk/digest_detail.html", digest_context(digest))


@role_required(Area.DESK)
def digest_download(request, digest_id: int):
    digest = _readable(request, digest_id)
    return exports.xlsx_response(digest_report(digest=digest))
