"""The layers of DESIGN.md, read from the source: imports point downwards only.

site (ops_platform) → desk → insights → goals → domain (merchants, users, products) → data (analytics). Domain apps
reach analytics only through ``analytics.selectors`` (their demo generators, which bulk-load events, may use its
loading service); analytics imports no app above it; nothing below the site imports goals or desk. Insights reads
the reports through ops_platform/core/reports.py (each app registers its own) and the apps through their selectors;
only the desk and the site import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("merchants", "users", "products")


def _imports(package: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import in the package's Python files, migrations left out."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from analytics import selectors" imports analytics.selectors
                found += [(str(path.relative_to(ROOT)), f"{node.module}.{alias.name}" if node.module in {
                    "analytics", *DOMAIN, "goals", "desk", "insights"} else node.module) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def test_analytics_imports_no_app_above_it():
    above = {*DOMAIN, "goals", "desk"}
    assert [(f, m) for f, m in _imports("analytics") if _top(m) in above] == []


@pytest.mark.parametrize("app", DOMAIN)
def test_domain_apps_reach_analytics_only_through_its_selectors(app):
    wrong = [(f, m) for f, m in _imports(app) if _top(m) == "analytics" and m != "analytics.selectors"
             and not (f.endswith("demo.py") and m == "analytics.services.loading")]
    assert wrong == []


@pytest.mark.parametrize("app", [*DOMAIN, "analytics"])
def test_nothing_below_the_site_imports_goals_or_desk(app):
    assert [(f, m) for f, m in _imports(app) if _top(m) in {"goals", "desk", "insights"}] == []


def test_goals_does_not_import_insights():
    assert [(f, m) for f, m in _imports("goals") if _top(m) == "insights"] == []


def test_insights_does_not_import_the_desk_and_reaches_the_apps_only_through_their_selectors():
    below = {"analytics", *DOMAIN, "goals"}
    wrong = [(f, m) for f, m in _imports("insights") if _top(m) == "desk"
             or (_top(m) in below and not m.endswith(".selectors")
                 and m != "goals.models")]  # a dashboard or an insight belongs to a team (a foreign key)
    assert wrong == []


def test_goals_does_not_import_the_desk():
    assert [(f, m) for f, m in _imports("goals") if _top(m) == "desk"] == []
