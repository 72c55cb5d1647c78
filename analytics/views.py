"""Pages of the analytics app. Thin: check the role, call one service or selector, render."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from analytics.forms import IngestKeyCreateForm
from analytics.models import IngestKey
from analytics.selectors import ingest_key_list
from analytics.services.keys import ingest_key_create, ingest_key_revoke
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area, can


@role_required(Area.INGEST_KEYS)
def ingest_keys(request):
    return render(request, "analytics/ingest_keys.html", {
        "keys": ingest_key_list(),
        "can_manage": can(request.user, Area.INGEST_KEYS, Action.CHANGE),
    })


@role_required(Area.INGEST_KEYS, Action.CHANGE)
def ingest_key_create_page(request):
    form = IngestKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw_key = ingest_key_create(name=form.cleaned_data["name"], created_by=request.user)
        # Rendered, not redirected: the secret is never stored, so this answer is the only place it appears.
        response = render(request, "analytics/ingest_key_created.html", {"key": key, "raw_key": raw_key})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "analytics/ingest_key_create.html", {"form": form})


@role_required(Area.INGEST_KEYS, Action.CHANGE)
def ingest_key_revoke_page(request, pk: int):
    key = get_object_or_404(IngestKey, pk=pk)
    if request.method == "POST":
        try:
            ingest_key_revoke(key=key)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Key “%(name)s” revoked: requests with it are now refused.")
                             % {"name": key.name})
        return redirect("analytics:ingest-keys")
    return render(request, "analytics/ingest_key_revoke.html", {"key": key})
