from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from ops_platform.accounts.selectors import api_token_list
from ops_platform.accounts.services import api_token_create, api_token_revoke, staff_set_language
from ops_platform.core.exceptions import ApplicationError


@require_POST
def set_language(request):
    """The language switcher: remembers the choice in a cookie and, when logged in, on the account."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        next_url = request.POST.get("next", "/")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = "/"
        return HttpResponseRedirect(next_url)
    if request.user.is_authenticated:
        staff_set_language(staff=request.user, language=language)
    translation.activate(language)
    return django_set_language(request)


def token_list(request):
    """Your API tokens: make one (shown once), see when each was used, revoke any. Every staff member has theirs."""
    new_secret = None
    if request.method == "POST":
        _token, new_secret = api_token_create(user=request.user, name=request.POST.get("name", ""))
    return render(request, "accounts/tokens.html", {
        "tokens": list(api_token_list(user=request.user)[:200]), "new_secret": new_secret, "now": timezone.now(),
        "stamp": request.user.get_session_auth_hash(), "ttl_days": settings.API_TOKEN_TTL_DAYS,
    })


@require_POST
def token_revoke(request, token_id: int):
    try:
        api_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, _("Token revoked: it no longer works."))
    return redirect("account-tokens")
