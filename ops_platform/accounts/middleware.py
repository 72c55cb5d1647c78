from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.utils import translation

# Paths that answer for themselves: the API (DRF answers 401/403 in JSON, ingestion uses a key),
# the admin (its own login page), static files, and the language switcher used on the login page.
OPEN_PREFIXES = ("/api/", "/admin/", "/static/", "/i18n/", "/health/")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login, except the login page itself and the prefixes above."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(OPEN_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class StaffLanguageMiddleware:
    """A logged-in staff member's saved language wins over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
