"""Settings for Ops Platform: one module, driven by the environment.

Embedded default (no DATABASE_URL, no REDIS_URL): SQLite file and in-process Celery,
so `make run` works on a bare machine. Production differs only by environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    normalized = value.strip().lower()
    if normalized in {"1", "true", "yes", "on"}:
        return True
    if normalized in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, got {value!r}.")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least {minimum}, got {value!r}.")
    return number


DEBUG = env_bool("DJANGO_DEBUG", True)
# What DJANGO_DEBUG said, kept apart from DEBUG (test runners turn DEBUG off): seed_demo refuses to plant known
# passwords when it is False.
DEBUG_FROM_ENV = DEBUG

DEVELOPMENT_SECRET_KEY = "dev-insecure-key-only-for-local-runs-do-not-use-in-production"
# Keys everyone can read (.env.example's placeholder, the development key): production refuses to start with them.
PLACEHOLDER_SECRET_KEYS = {"change-me-to-a-long-random-string", DEVELOPMENT_SECRET_KEY}
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. In production (DJANGO_DEBUG=0) set it to a long random "
            "value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif not DEBUG and (SECRET_KEY in PLACEHOLDER_SECRET_KEYS or SECRET_KEY.startswith("change-me")):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is still the example value from .env.example (or the development key). In production "
        "(DJANGO_DEBUG=0) set it to a long random value of your own, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the Swagger UI's files, served from this site's static files (no CDN)
    "django_celery_beat",
    # site
    "ops_platform.accounts",
    "ops_platform.core",
    "ops_platform.dashboard",
    # teams and goals (reads the domain apps through their selectors)
    "goals",
    # saved insights, dashboards, subscriptions, annotations (reads the reports through ops_platform.core.reports)
    "insights",
    # the daily desk, alerts and weekly digests (reads goals and the domain apps through their selectors)
    "desk",
    # domain
    "merchants",
    "users",
    "products",
    # data
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ops_platform.accounts.middleware.StaffLanguageMiddleware",
    "ops_platform.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ops_platform.urls"
WSGI_APPLICATION = "ops_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ops_platform.core.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL or the embedded SQLite file.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # JIT compilation costs more than it saves on the analytics queries (measured: +0.7 s on a 10M-event
        # funnel for nothing), and the web queries are short: off for this application's sessions.
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Transactions take the write lock when they begin: two writers queue for up to the timeout instead of
            # one failing at once with "database is locked" when both try to upgrade a read lock.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.Staff"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before the password
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["ops_platform.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files (whitenoise)
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Redis / Celery
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# django-celery-beat's database scheduler, plus a heartbeat file for beat's health check (ops_platform/beat.py).
CELERY_BEAT_SCHEDULER = "ops_platform.beat:HeartbeatScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No task holds a worker for ever: a soft limit raises in the task (which records why it stopped), the hard one ends
# the worker process. Tasks may set tighter limits of their own.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900, minimum=60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# The longest hard time limit a task sets for itself (products.tracking_checks_nightly: 960 s); tests hold every task
# to it (tests/test_recovery.py).
LONGEST_TASK_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT, 960)
# With acks_late a task's message stays in Redis's "unacked" set until the task ends; if the worker dies (kill -9, an
# OOM kill, a redeploy) Redis hands the message to another worker once it is this many seconds old. It must outlast the
# longest task (else a running task is delivered twice) and no more: kombu's default is an hour. Long work is chunked
# to fit (a backfill runs as week-long tasks).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", LONGEST_TASK_TIME_LIMIT + 240, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 3,  # a broker that does not answer fails a request's queueing in seconds (a 503)
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
# Publishing a task while the broker is down: a few quick tries, then the request answers 503 (core/tasks.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Runs and export jobs still "started" this long after they began belong to a dead worker (no task outlives its hard
# time limit): the watchdog (desk.tasks.jobs_watchdog_task, every few minutes) marks them failed.
JOB_STUCK_AFTER_SECONDS = LONGEST_TASK_TIME_LIMIT + 60
# What /health/ needs up to answer 200 (core/health.py); the others are reported, and only degrade the service.
HEALTH_REQUIRED = env_list("HEALTH_REQUIRED", ["database"])
# Reports computed on request: PostgreSQL cancels a query still running after this many seconds (core/db.py).
REPORT_TIMEOUT_SECONDS = env_int("REPORT_TIMEOUT_SECONDS", 30)  # 0: no limit
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    # Redis down does not take the web down: the cache falls back to one local to the process (core/cache.py).
    CACHES = {"default": {"BACKEND": "ops_platform.core.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2}}}
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Login protection (ops_platform/accounts/lockout.py): pages, /admin/ and the token endpoint lock a username out
# from one address after LOGIN_FAILURE_LIMIT failures, for LOGIN_LOCKOUT_MINUTES (an admin unlocks earlier).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout are refused without counting, so it ends when the message says it will.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "ops_platform.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "ops_platform.accounts.lockout.lockout_response"
AXES_VERBOSE = False
# How many proxies (nginx, a load balancer) stand in front of the app: the client's address is then the N-th from
# the right of X-Forwarded-For. 0 (the default) trusts no header and uses the connection's address.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# API tokens (ops_platform/accounts): how long one works, and how many live ones a person keeps at most.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1)
API_TOKEN_MAX_ACTIVE = env_int("API_TOKEN_MAX_ACTIVE", 20, minimum=1)

# REST framework
REST_FRAMEWORK = {
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ops_platform.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ops_platform.core.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "ops_platform.core.pagination.StandardPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "ops_platform.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "ops_platform.core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("API_THROTTLE_USER", "6000/min"),
        "ingest": os.environ.get("API_THROTTLE_INGEST", "6000/min"),
        "login": os.environ.get("API_THROTTLE_LOGIN", "20/min"),  # token requests per address
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ops Platform API",
    "DESCRIPTION": "Events, funnels, AARRR metrics, merchants, customers and requirement tickets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # /api/docs/ loads the Swagger UI from this site's static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation declares its refusals in the one error format (core/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "ops_platform.core.schema.error_responses"],
    # Several apps have a "kind" or a "status": name the requirement tickets' enums explicitly.
    # ``<id:…>`` (ops_platform/core/fields.py): at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                                 "text": {"type": "string", "maxLength": 200}},
    "ENUM_NAME_OVERRIDES": {
        "TicketKindEnum": "products.models.Ticket.Kind",
        "TicketStatusEnum": "products.models.Ticket.Status",
        "MerchantStageEnum": "merchants.models.Merchant.Stage",
        "MerchantTierEnum": "merchants.models.Tier",
        "ContactKindEnum": "merchants.models.MerchantContact.Kind",
        "CampaignKindEnum": "merchants.models.Campaign.Kind",
        "LifecycleStageEnum": "users.models.Stage",
        "TeamKindEnum": "goals.models.Team.Kind",
        "GoalLevelEnum": "goals.models.Goal.Level",
        "GoalMetricEnum": "goals.models.Metric",
        "NameMappingKindEnum": "analytics.models.NameMapping.Kind",
    },
}

# Content-Security-Policy (django-csp), on every page: scripts only from this site's own static files (charts and
# forms read their data from json_script blocks, never inline code), nothing framed, forms post only here. Styles
# allow inline style attributes: bars and heat maps are drawn with them, and a style cannot run code. The API docs
# (Swagger UI) come from this site's static files too (drf-spectacular-sidecar): no page has an exception.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Security: strict when DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "ops-platform@localhost")
# Where the site is reached from outside, for links in e-mails (the weekly digest).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# In development whitenoise serves straight from the finders; production serves collectstatic output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
