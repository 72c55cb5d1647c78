"""Production, served as the README's deployment serves it: the Dockerfile's own ``collectstatic`` line and its own
gunicorn command (``gunicorn.conf.py``), with ``.env.example`` filled in as the README says and DJANGO_DEBUG=0, against
the test database — then headless Chromium logs in behind a (simulated) TLS proxy and walks the main pages.

This is what no debug-settings test can see: the manifest static storage (a file missing from the build is a 500 on
every page), whitenoise serving the hashed files, secure cookies, the proxy header, CSRF on the login form, the
Content-Security-Policy with the real static URLs, the Swagger UI from the sidecar, and attachments behind their view.
Needs PostgreSQL (gunicorn is another process), Redis, gunicorn and Chromium: skipped on a bare machine, a failure in
CI (CI=true).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import global_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from ops_platform.accounts.models import Staff
from ops_platform.core.context_processors import NAV_ITEMS
from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from products.models import Ticket
from products.services.tickets import ticket_attachment_add
from tests.conftest import missing_service
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.integration.test_celery_worker import test_database_url
from tests.test_deploy_files import dotenv_values, readme_env

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 90
HASHED = re.compile(r"\.[0-9a-f]{12}\.(?:js|css)$")  # ManifestStaticFilesStorage's names: name.<12 hex>.ext
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def dockerfile_instructions(keyword: str) -> list[str]:
    """The Dockerfile's instructions of one kind (continuation lines joined), without the keyword."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(keyword + " ")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_readme_deployment_section_is_what_this_test_follows():
    """The steps this smoke follows are the README's: if the README changes them, this test must change too."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying with docker-compose", 1)[1].split("\n## ", 1)[0]
    assert "cp .env.example .env          # set DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, POSTGRES_PASSWORD" in section
    assert "docker compose up -d --build" in section
    assert any("collectstatic" in line for line in dockerfile_instructions("RUN"))
    assert json.loads(dockerfile_instructions("CMD")[0])[0] == "gunicorn"


@pytest.fixture(scope="module")
def production_static(tmp_path_factory):
    """The Dockerfile's collectstatic line, run as it is written, into a directory of this test's own."""
    static_root = tmp_path_factory.mktemp("staticfiles")
    command = next(line for line in dockerfile_instructions("RUN") if "collectstatic" in line)
    env = dict(os.environ, STATIC_ROOT=str(static_root), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)  # as in the image build: nothing but what the line itself sets
    result = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert (static_root / "staticfiles.json").is_file()
    return static_root


@pytest.fixture
def demo_site(tmp_path, settings):
    """A small demo data set (committed: gunicorn is another process) and one ticket with two attachments."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # gunicorn checks passwords with the production hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    demo_seed(customers=200, days=21, seed=7, end=timezone.localdate() - timedelta(days=1), merchants=8)
    ticket = Ticket.objects.order_by("pk").first()
    admin = Staff.objects.get(username="admin")
    png = ticket_attachment_add(ticket_id=ticket.pk, user=admin,
                                upload=SimpleUploadedFile("screen.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32))
    text = ticket_attachment_add(ticket_id=ticket.pk, user=admin,
                                 upload=SimpleUploadedFile("notes.txt", b"<script>alert(1)</script>"))
    return {"ticket": ticket, "png": png, "text": text, "media": settings.MEDIA_ROOT}


@pytest.fixture
def production_server(production_static, demo_site, redis_url, tmp_path):
    """The Dockerfile's CMD (gunicorn, reading gunicorn.conf.py) with DJANGO_DEBUG=0 and the README's .env, on a free
    port, on the test's pinned clock; yields its base URL, stopped (terminate, wait, kill) afterwards."""
    if connection.vendor != "postgresql":
        missing_service("gunicorn is another process: it needs a shared PostgreSQL database (DATABASE_URL)")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing_service("gunicorn is not installed")
    port = free_port()
    base = f"http://localhost:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(dotenv_values(readme_env(
        # The browser reaches gunicorn directly over http, as the TLS proxy would: its origin is trusted for CSRF.
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://ops.example.com,{base}",
    )))
    env.update(DATABASE_URL=test_database_url(), REDIS_URL=redis_url, STATIC_ROOT=str(production_static),
               MEDIA_ROOT=str(demo_site["media"]), GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
               DJANGO_SETTINGS_MODULE="ops_platform.settings")
    assert env["DJANGO_DEBUG"] == "0"
    gunicorn_command = json.loads(dockerfile_instructions("CMD")[0])
    command = [sys.executable, "-m", "tests.pinned_clock", timezone.now().isoformat(), *gunicorn_command]
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"{shlex.join(command)} exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                request = urllib.request.Request(base + "/health/", headers={"X-Forwarded-Proto": "https"})
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /health/ in {START_TIMEOUT}s:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield {"url": base, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def proxied_page(browser, production_server):
    """A browser context that reaches gunicorn as through the TLS proxy (X-Forwarded-Proto: https)."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900},
                                  extra_http_headers={"Accept-Language": "en", "X-Forwarded-Proto": "https"})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.failed = []
    page.errors = []
    page.assets = []
    page.on("response", lambda response: (response.status >= 400 and not response.url.endswith("/favicon.ico")
                                          and page.failed.append(f"{response.status} {response.url}")))
    page.on("response", lambda response: "/static/" in response.url and page.assets.append(response))
    page.on("console", lambda message: message.type == "error" and "favicon.ico" not in str(message.location)
            and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def test_production_serves_the_main_pages_the_api_docs_and_attachments(proxied_page, production_server, demo_site):
    page, base = proxied_page, production_server["url"]

    # Without the proxy header the production settings redirect to https (SECURE_SSL_REDIRECT).
    plain = urllib.request.Request(base + "/login/")
    redirect = urllib.request.build_opener(NoRedirect).open(plain)
    assert (redirect.status, redirect.headers["Location"]) == (301, f"https://localhost:{base.rsplit(':', 1)[1]}"
                                                                     "/login/")

    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.locator("#id_username").fill("admin")
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()
    session = next(cookie for cookie in page.context.cookies() if cookie["name"] == "sessionid")
    assert session["secure"] and session["httpOnly"]

    pages = [reverse(name) for name, _label, _area in NAV_ITEMS]
    pages += [reverse("products:ticket", args=[demo_site["ticket"].pk]), "/account/tokens/", "/users/segments/"]
    problems = []
    for path in pages:
        page.failed.clear()
        page.errors.clear()
        answer = page.goto(base + path)
        page.wait_for_load_state("load")
        if answer is None or answer.status != 200:
            problems.append(f"{path}: {answer and answer.status}")
            continue
        if answer.headers.get("strict-transport-security", "").find("max-age=") < 0:
            problems.append(f"{path}: no HSTS header")
        problems += [f"{path}: {failure}" for failure in page.failed]
        problems += [f"{path}: {error}" for error in page.errors]
        problems += [f"{path}: CSP {violation}" for violation in page.evaluate("window.__csp || []")]
    assert problems == [], "\n".join(problems)

    # The static files are the manifest's hashed, compressed copies, served by whitenoise for a year.
    scripts = [response for response in page.assets if response.url.endswith(".js")]
    assert scripts and all(HASHED.search(response.url.split("?")[0]) for response in scripts), [
        response.url for response in scripts]
    chart_js = next(response for response in scripts if "chart.umd.min" in response.url)
    assert "max-age=315360000" in chart_js.headers["cache-control"]
    page.goto(base + "/analytics/aarrr/")
    assert page.evaluate("typeof window.Chart") == "function"

    # The Swagger UI from the sidecar's static files: it draws the operations, nothing comes from elsewhere.
    page.errors.clear()
    elsewhere = []
    page.on("request", lambda request: request.url.startswith(base) or request.url.startswith("data:")
            or elsewhere.append(request.url))
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    assert elsewhere == [] and page.errors == [] and page.evaluate("window.__csp") == []

    # Attachments: linked from the ticket page, served behind the login in their recorded type.
    page.goto(base + reverse("products:ticket", args=[demo_site["ticket"].pk]))
    links = page.get_by_test_id("attachment-link")
    expect(links).to_have_count(2)
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert all(href.startswith(f"/products/tickets/{demo_site['ticket'].pk}/attachments/") for href in hrefs)
    image = page.request.get(base + hrefs[0])
    text = page.request.get(base + hrefs[1])
    assert (image.status, image.headers["content-type"]) == (200, "image/png")
    assert image.headers["content-disposition"].startswith("inline")
    assert (text.status, text.headers["content-type"]) == (200, "text/plain; charset=utf-8")
    assert text.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    anonymous = urllib.request.build_opener(NoRedirect).open(urllib.request.Request(
        base + hrefs[1], headers={"X-Forwarded-Proto": "https"}))
    assert anonymous.status == 302 and "/login/" in anonymous.headers["Location"]
    missing = page.request.get(base + "/media/" + demo_site["text"].file.name)
    assert missing.status == 404


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib that hands back a redirect instead of following it."""

    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, request, response, code, message, headers):
        return response

    http_error_301 = http_error_303 = http_error_307 = http_error_302
