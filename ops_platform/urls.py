from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ops_platform.accounts import apis as account_apis
from ops_platform.accounts import views as account_views
from ops_platform.core.apis import health

api_v1 = [
    path("auth/token/", account_apis.ObtainTokenApi.as_view(), name="auth-token"),
    path("auth/tokens/", account_apis.ApiTokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<id:token_id>/revoke/", account_apis.ApiTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("", include("ops_platform.dashboard.api_urls")),
    path("", include("analytics.api_urls")),
    path("", include("products.api_urls")),
    path("", include("merchants.api_urls")),
    path("", include("users.api_urls")),
    path("", include("goals.api_urls")),
    path("", include("desk.api_urls")),
    path("", include("insights.api_urls")),
]

urlpatterns = [
    path("", include("ops_platform.dashboard.urls")),
    path("analytics/", include("analytics.urls")),
    path("products/", include("products.urls")),
    path("merchants/", include("merchants.urls")),
    path("users/", include("users.urls")),
    path("goals/", include("goals.urls")),
    path("desk/", include("desk.urls")),
    path("insights/", include("insights.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", account_views.set_language, name="set-language"),
    path("account/tokens/", account_views.token_list, name="account-tokens"),
    path("account/tokens/<id:token_id>/revoke/", account_views.token_revoke, name="account-token-revoke"),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The Swagger UI's files are this site's static files (drf-spectacular-sidecar) and it starts from a script file
    # of its own (no inline script): the page keeps the site's Content-Security-Policy, with no exception.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

admin.site.site_header = "Ops Platform"
admin.site.site_title = "Ops Platform"

# The site's error pages, in its layout and the reader's language (JSON under /api/): ops_platform/core/errors.py.
handler403 = "ops_platform.core.errors.permission_denied"
handler404 = "ops_platform.core.errors.page_not_found"
handler500 = "ops_platform.core.errors.server_error"
