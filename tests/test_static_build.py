"""The production static build: ``collectstatic`` with DJANGO_DEBUG=0 (whitenoise's compressed manifest storage), as the
Dockerfile runs it. The manifest storage follows every ``url()`` and ``sourceMappingURL`` in the files it hashes, so
a vendored file naming a map that is not shipped fails the whole build (issue 18)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.test_settings import clean_env, production_env

ROOT = Path(__file__).resolve().parent.parent
SOURCE_MAP = re.compile(rb"[#@] sourceMappingURL=([^\s*]+)")


def collectstatic(target: Path) -> subprocess.CompletedProcess:
    env = clean_env(**production_env(STATIC_ROOT=str(target)))
    return subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_collectstatic_builds_the_production_manifest(tmp_path):
    result = collectstatic(tmp_path / "static")

    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/chartjs/chart.umd.min.js", "js/charts.js", "css/app.css",
                 "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
        assert name in manifest, name
        hashed = tmp_path / "static" / manifest[name]
        assert hashed.is_file() and hashed.with_name(hashed.name + ".gz").is_file()


def test_every_source_map_our_static_files_name_is_shipped():
    """The vendored chart.js had its ``sourceMappingURL`` comment removed (the map is not vendored): keep it so."""
    missing = []
    for path in (ROOT / "static").rglob("*"):
        if path.suffix not in {".js", ".css"}:
            continue
        for name in SOURCE_MAP.findall(path.read_bytes()):
            if not (path.parent / name.decode()).is_file():
                missing.append(f"{path.relative_to(ROOT)} → {name.decode()}")
    assert missing == []
