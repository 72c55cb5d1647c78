from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from ops_platform.accounts.services import staff_set_language


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
