"""The deployment files: docker-compose.yml is accepted by Compose and keeps its promises (health checks, start-up
order, a required database password), and the Docker build context leaves secrets out."""

import fnmatch
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = {"migrate", "web", "worker", "beat"}
LONG_RUNNING = {"db", "redis", "web", "worker", "beat"}


def readme_env(**overrides: str) -> str:
    """.env.example with what the README says to set (secret key, allowed hosts, database password)."""
    values = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "ops.example.com,localhost",
              "POSTGRES_PASSWORD": secrets.token_urlsafe(24), **overrides}
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values.pop(name)}" if name in values and not line.startswith("#") else line)
    return "\n".join(lines + [f"{name}={value}" for name, value in values.items()]) + "\n"


def dotenv_values(text: str) -> dict[str, str]:
    """NAME=value lines of a .env text (comments and blank lines left out), as Compose reads them."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def compose(tmp_path, env_text: str, *args: str) -> subprocess.CompletedProcess:
    executable = shutil.which("docker-compose")
    if executable is None:
        missing_service("docker-compose is not installed (Debian package docker-compose)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(env_text)
    return subprocess.run([executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_docker_compose_config_is_valid(tmp_path):
    result = compose(tmp_path, readme_env(), "config", "-q")

    assert result.returncode == 0, result.stderr


def test_compose_services_wait_for_healthy_dependencies_and_each_has_a_health_check(tmp_path):
    password = secrets.token_urlsafe(24)
    result = compose(tmp_path, readme_env(POSTGRES_PASSWORD=password), "config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]

    assert {"db", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert services[name]["environment"]["DATABASE_URL"] == f"postgres://ops:{password}@db:5432/ops"
    for name in APP_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == password
    assert services["beat"]["healthcheck"]["test"][1:] == ["python", "-m", "ops_platform.beat_health"]


@pytest.mark.parametrize("password_line", ["POSTGRES_PASSWORD=", None])
def test_compose_refuses_to_start_without_a_database_password(tmp_path, password_line):
    env_text = "".join(line + "\n" for line in readme_env().splitlines()
                       if not line.startswith("POSTGRES_PASSWORD="))
    if password_line is not None:
        env_text += password_line + "\n"

    result = compose(tmp_path, env_text, "config", "-q")

    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_the_env_example_sets_no_database_password():
    """Copying .env.example unchanged cannot start the stack with a guessable password."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert "POSTGRES_PASSWORD=" in lines


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rules, as far as this file uses them: globs, ``**/`` prefixes, ``!`` exceptions, the last
    matching line wins, and a directory's pattern covers what is inside it."""

    def matches(candidate: str, glob: str) -> bool:
        if glob.startswith("**/"):
            segments = candidate.split("/")
            return any(fnmatch.fnmatchcase("/".join(segments[i:]), glob[3:]) for i in range(len(segments)))
        return fnmatch.fnmatchcase(candidate, glob)

    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if any(matches(prefix, pattern.lstrip("!")) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_the_docker_build_context_leaves_secrets_and_junk_out():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    for path in [".env", ".env.production", ".git/config", ".venv/bin/python", "db.sqlite3", "media/attachments/a.pdf",
                 "staticfiles/staticfiles.json", "analytics/__pycache__/models.cpython-311.pyc", "test-artifacts/x.png",
                 "bench/data/events.csv", ".pytest_cache/v/cache"]:
        assert _docker_ignored(path, patterns), f"{path} would be copied into the image"
    for path in [".env.example", "manage.py", "gunicorn.conf.py", "requirements.txt", "ops_platform/settings.py",
                 "static/vendor/chartjs/chart.umd.min.js", "locale/zh_Hans/LC_MESSAGES/django.mo"]:
        assert not _docker_ignored(path, patterns), f"{path} is needed in the image"


@pytest.mark.parametrize("name", ["README.md", "Dockerfile", ".env.example", "Makefile", ".ci/run", ".dockerignore"])
def test_project_files_exist(name):
    assert (ROOT / name).is_file()


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_ci_builds_and_checks_production_before_the_tests():
    """.ci/run: `make prod-check` (collectstatic and check --deploy with DJANGO_DEBUG=0), then `make test`, which holds
    the production smoke (gunicorn with DJANGO_DEBUG=0, then Chromium)."""
    ci = (ROOT / ".ci/run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nprod-check:", 1)[1].split("\n\n", 1)[0]

    assert ci.index("make prod-check") < ci.index("make test")
    assert "DJANGO_DEBUG=0" in makefile.split("PROD_ENV =", 1)[1].split("\n", 1)[0]
    assert "$(PROD_ENV) $(BIN)/python manage.py collectstatic --no-input" in recipe
    assert "$(PROD_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING" in recipe
    assert (ROOT / "tests/e2e/test_production_smoke.py").is_file()
