"""docker-compose.yml is accepted by Compose and names the five services the README promises."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parent.parent


def test_docker_compose_config_is_valid(tmp_path):
    compose = shutil.which("docker-compose")
    if compose is None:
        missing_service("docker-compose is not installed (Debian package docker-compose)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run([compose, "config", "--services"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert {"db", "redis", "web", "worker", "beat"} <= set(result.stdout.split())


@pytest.mark.parametrize("name", ["README.md", "Dockerfile", ".env.example", "Makefile", ".ci/run"])
def test_project_files_exist(name):
    assert (ROOT / name).is_file()


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
