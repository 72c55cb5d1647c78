"""Settings come from the environment alone: each case starts a fresh Python with a controlled environment."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ops_platform.settings import env_bool, env_list

ROOT = Path(__file__).resolve().parent.parent
# Everything the settings module reads; each case sets only what it needs.
SETTINGS_ENV = {
    "DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "TIME_ZONE",
    "SQLITE_PATH", "DJANGO_CSRF_TRUSTED_ORIGINS", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests while Chromium runs; never in deployment
    "LOGIN_FAILURE_LIMIT", "LOGIN_LOCKOUT_MINUTES", "NUM_PROXIES", "API_TOKEN_TTL_DAYS", "API_TOKEN_MAX_ACTIVE",
    "API_THROTTLE_LOGIN", "CELERY_TASK_SOFT_TIME_LIMIT", "REPORT_TIMEOUT_SECONDS",
    "CELERY_VISIBILITY_TIMEOUT", "HEALTH_REQUIRED",
}
DUMP_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG, "ALLOWED_HOSTS": settings.ALLOWED_HOSTS, "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]),
    "HOST": db.get("HOST", ""), "EAGER": settings.CELERY_TASK_ALWAYS_EAGER, "BROKER": settings.CELERY_BROKER_URL,
    "RESULT_BACKEND": settings.CELERY_RESULT_BACKEND, "CACHE": settings.CACHES["default"]["BACKEND"],
    "TIME_ZONE": settings.TIME_ZONE, "CELERY_TIMEZONE": settings.CELERY_TIMEZONE, "USE_TZ": settings.USE_TZ,
    "SECRET_KEY_SET": bool(settings.SECRET_KEY), "NUM_PROXIES": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "LOCKOUT": [settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds()],
    "TOKEN_TTL_DAYS": settings.API_TOKEN_TTL_DAYS, "REPORT_TIMEOUT": settings.REPORT_TIMEOUT_SECONDS,
    "CSP_SCRIPT": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"],
}))
"""
PRODUCTION_DATABASE = "postgres://ops:secret@db.internal:5432/ops"


def clean_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_ENV}
    env["DJANGO_SETTINGS_MODULE"] = "ops_platform.settings"
    env.update(overrides)
    return env


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(**env), capture_output=True,
                          text=True, timeout=120)


def load_settings(**env: str) -> dict:
    result = run_python(DUMP_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "ops.example.com",
        "DATABASE_URL": PRODUCTION_DATABASE,
    }
    env.update(overrides)
    return env


# env_bool / env_list, in process


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " 1 "])
def test_env_bool_true_values(monkeypatch, raw):
    monkeypatch.setenv("OPS_FLAG", raw)

    assert env_bool("OPS_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off"])
def test_env_bool_false_values(monkeypatch, raw):
    monkeypatch.setenv("OPS_FLAG", raw)

    assert env_bool("OPS_FLAG", True) is False


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_bool_unset_or_blank_gives_the_default(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("OPS_FLAG", raising=False)
    else:
        monkeypatch.setenv("OPS_FLAG", raw)

    assert env_bool("OPS_FLAG", True) is True
    assert env_bool("OPS_FLAG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y"])
def test_env_bool_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("OPS_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match="OPS_FLAG must be one of"):
        env_bool("OPS_FLAG", True)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("OPS_LIST", " a.example.com, ,b.example.com ,")

    assert env_list("OPS_LIST", ["x"]) == ["a.example.com", "b.example.com"]


def test_env_list_unset_gives_the_default(monkeypatch):
    monkeypatch.delenv("OPS_LIST", raising=False)

    assert env_list("OPS_LIST", ["x"]) == ["x"]


# The whole settings module, in a fresh interpreter


def test_embedded_default_is_sqlite_and_eager_celery(tmp_path):
    sqlite_path = str(tmp_path / "embedded.sqlite3")

    loaded = load_settings(SQLITE_PATH=sqlite_path)

    assert loaded["DEBUG"] is True
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["NAME"] == sqlite_path
    assert loaded["EAGER"] is True
    assert loaded["BROKER"] == "memory://"
    assert loaded["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert loaded["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert loaded["TIME_ZONE"] == "Asia/Shanghai"
    assert loaded["CELERY_TIMEZONE"] == "Asia/Shanghai"
    assert loaded["USE_TZ"] is True


def test_database_url_selects_postgresql():
    loaded = load_settings(DATABASE_URL="postgres://ops:pw@db.example.com:5433/opsdb")

    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["NAME"] == "opsdb"
    assert loaded["HOST"] == "db.example.com"


def test_redis_url_turns_celery_real_and_uses_redis_for_broker_results_and_cache():
    loaded = load_settings(REDIS_URL="redis://cache.example.com:6379/3")

    assert loaded["EAGER"] is False
    assert loaded["BROKER"] == "redis://cache.example.com:6379/3"
    assert loaded["RESULT_BACKEND"] == "redis://cache.example.com:6379/3"
    assert loaded["CACHE"] == "ops_platform.core.cache.ResilientRedisCache"


def test_allowed_hosts_are_parsed_as_a_list():
    loaded = load_settings(DJANGO_ALLOWED_HOSTS="ops.example.com, .internal.example.com ,")

    assert loaded["ALLOWED_HOSTS"] == ["ops.example.com", ".internal.example.com"]


def test_time_zone_can_be_overridden():
    loaded = load_settings(TIME_ZONE="Europe/Berlin")

    assert loaded["TIME_ZONE"] == "Europe/Berlin"
    assert loaded["CELERY_TIMEZONE"] == "Europe/Berlin"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_invalid_debug_flag_stops_start_up(value):
    result = run_python(DUMP_SETTINGS, DJANGO_DEBUG=value)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_DEBUG must be one of" in result.stderr


def test_production_without_secret_key_stops_start_up_with_a_clear_message():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]

    result = run_python(DUMP_SETTINGS, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize("key", ["change-me-to-a-long-random-string", " change-me-to-a-long-random-string ",
                                 "change-me", "dev-insecure-key-only-for-local-runs-do-not-use-in-production"])
def test_production_with_the_example_secret_key_stops_start_up_with_a_clear_message(key):
    result = run_python(DUMP_SETTINGS, **production_env(DJANGO_SECRET_KEY=key))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "still the example value from .env.example" in result.stderr


def test_the_env_example_placeholder_is_refused_in_production_but_fine_in_debug():
    """The key .env.example ships is exactly one the settings refuse (so copying the file unchanged cannot start)."""
    from tests.test_deploy_files import dotenv_values

    example = dotenv_values((ROOT / ".env.example").read_text())
    assert run_python(DUMP_SETTINGS, **production_env(DJANGO_SECRET_KEY=example["DJANGO_SECRET_KEY"])).returncode != 0
    assert load_settings(DJANGO_DEBUG="1", DJANGO_SECRET_KEY=example["DJANGO_SECRET_KEY"])["DEBUG"] is True


def test_production_settings_are_strict():
    loaded = load_settings(**production_env())

    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY_SET"] is True
    assert loaded["ALLOWED_HOSTS"] == ["ops.example.com"]
    assert loaded["ENGINE"] == "django.db.backends.postgresql"


def test_production_passes_check_deploy_without_warnings():
    env = clean_env(**production_env())

    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_security_settings_default_and_come_from_the_environment():
    defaults = load_settings()
    configured = load_settings(NUM_PROXIES="1", LOGIN_FAILURE_LIMIT="8", LOGIN_LOCKOUT_MINUTES="30",
                               API_TOKEN_TTL_DAYS="7", REPORT_TIMEOUT_SECONDS="10")

    assert (defaults["NUM_PROXIES"], defaults["LOCKOUT"], defaults["TOKEN_TTL_DAYS"], defaults["REPORT_TIMEOUT"]) == (
        0, [5, 900.0], 30, 30)
    assert defaults["CSP_SCRIPT"] == ["'self'"]
    assert (configured["NUM_PROXIES"], configured["LOCKOUT"], configured["TOKEN_TTL_DAYS"],
            configured["REPORT_TIMEOUT"]) == (1, [8, 1800.0], 7, 10)


@pytest.mark.parametrize("name, value", [("NUM_PROXIES", "-1"), ("LOGIN_FAILURE_LIMIT", "0"),
                                          ("API_TOKEN_TTL_DAYS", "a week"), ("REPORT_TIMEOUT_SECONDS", "1.5")])
def test_bad_security_numbers_stop_start_up_with_a_clear_message(name, value):
    result = run_python("import django; django.setup()", **{name: value})

    assert result.returncode != 0
    assert f"{name} must be a whole number of at least" in result.stderr
