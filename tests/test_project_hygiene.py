"""What keeps the repository honest: lint, migrations in step with the models, complete compiled catalogues."""

from __future__ import annotations

import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["zh_Hans", "zh_Hant"]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language):
    po_path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))

    untranslated = [entry.msgid for entry in catalogue if not entry.obsolete and not entry.translated()]
    assert untranslated == []
    live = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
            for entry in catalogue if not entry.obsolete}
    built = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural) for entry in compiled if entry.msgid}
    assert built == live, "the .mo is stale: run `make messages`"


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    """A translation that drops or invents a %(name)s (say, one gettext guessed from a similar string) would show
    the wrong words or fail to format."""
    catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    wrong = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        expected = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        for text in (entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]):
            if set(PLACEHOLDER.findall(text)) != expected:
                wrong.append((entry.msgid, text))
    assert wrong == []


@pytest.mark.parametrize("language, expected", [("zh-hans", "仪表盘"), ("zh-hant", "儀表盤"), ("en", "Dashboard")])
def test_django_loads_the_catalogues(language, expected):
    with translation.override(language):
        assert gettext("Dashboard") == expected


def test_every_template_string_is_in_the_catalogue():
    """A string marked in a template or in code but missing from the .po would show in English."""
    catalogue = {entry.msgid for entry in polib.pofile(str(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    marked = _marked_strings()
    missing = sorted(marked - catalogue)
    assert missing == [], f"run `make messages` and translate: {missing[:10]}"


def _marked_strings() -> set[str]:
    """The literal strings in {% translate "…" %} tags and _("…") calls of the project (no gettext tools needed)."""
    patterns = [
        re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1"""),
        re.compile(r"""\b_\(\s*(["'])(.+?)(?<!\\)\1\s*\)"""),
    ]
    found: set[str] = set()
    skip = {".venv", "tests", "bench", "staticfiles", "node_modules", "migrations", "scripts"}
    for path in ROOT.rglob("*"):
        if path.suffix not in {".py", ".html"} or skip & set(path.relative_to(ROOT).parts):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found.update(match.group(2) for match in pattern.finditer(text))
    return found


@pytest.mark.parametrize("language", ["en", "zh-hans", "zh-hant"])
def test_large_numbers_are_grouped_in_every_language(language):
    from django.contrib.humanize.templatetags.humanize import intcomma

    with translation.override(language):
        assert intcomma(352954) == "352,954"
