"""Charts are drawn by one script, static/js/charts.js, from JSON elements: no template builds a chart inline, every
chart canvas names a renderer that exists and a data element that its page renders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
CHARTS_JS = (ROOT / "static" / "js" / "charts.js").read_text()
RENDERERS = set(re.findall(r'^ {4}"([a-z-]+)": function', CHARTS_JS, re.M))
CANVAS = re.compile(r"<canvas\b[^>]*>")


def _canvases():
    for path in TEMPLATES:
        for tag in CANVAS.findall(path.read_text()):
            yield path, tag


def test_charts_js_has_the_renderers():
    assert {"events-per-day", "aarrr-stage", "funnel", "goal-history", "launch-impact"} <= RENDERERS


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_no_template_builds_a_chart_inline(path):
    text = path.read_text()

    assert "new Chart(" not in text
    if "<canvas" in text:  # a page with a chart runs no inline script (its data is in json_script elements)
        assert not [tag for tag in re.findall(r"<script\b([^>]*)>", text) if "src=" not in tag], path.name


def test_every_chart_canvas_names_a_renderer_and_its_data():
    canvases = list(_canvases())
    assert len(canvases) >= 14

    for path, tag in canvases:
        kind = re.search(r'data-chart="([^"]+)"', tag)
        source = re.search(r'data-source="([^"]+)"', tag)
        assert kind and source, f"{path.name}: {tag}"
        assert kind.group(1) in RENDERERS, f"{path.name}: no renderer {kind.group(1)!r} in charts.js"
        assert f'json_script:"{source.group(1)}"' in path.read_text(), f"{path.name}: no data element {source.group(1)}"


def test_base_loads_the_charts_after_chart_js_and_the_markers():
    base = (ROOT / "templates" / "base.html").read_text()

    positions = [base.index(name) for name in ("chart.umd.min.js", "js/chart-markers.js", "js/charts.js")]
    assert positions == sorted(positions)
