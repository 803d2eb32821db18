"""report.html in a real browser (headless Chromium): it renders, the page logs no console
error, and a screenshot is kept next to it. The console check is proven on a page that logs
an error on purpose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports.browser import rendered_dom, screenshot
from tests.reports.plant import OPERATIONS, Artifacts, build, campaign_json


def test_the_console_check_sees_an_error_a_page_logs(tmp_path: Path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body>x<script>console.error('planted failure')</script></body></html>")
    console, dom = rendered_dom(page)
    assert any("planted failure" in line for line in console), console
    assert "x" in dom
    assert any("planted failure" in line for line in screenshot(page, tmp_path / "x.png"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    artifacts = Artifacts(root).clean(campaign_json(mutant="double_charge"))
    slowed = dict(OPERATIONS, **{"gql Product": 60.0})
    earlier = build(Artifacts(root / "earlier").clean(campaign_json()), root / "e" / "out")
    artifacts.plant_load(slowed)
    build(artifacts, root / "out", baseline=(earlier, "earlier"), screenshot=True)
    [page] = (root / "out").glob("*/report.html")
    return page


def test_the_report_renders_with_no_console_error_and_a_screenshot_is_kept(rendered: Path):
    screenshot = rendered.with_name("report.png")
    assert screenshot.stat().st_size > 10_000  # taken by the report itself
    console, dom = rendered_dom(rendered)
    assert console == []
    assert 'id="verdict"' in dom and "NO-GO" in dom
    for section in ("contracts", "chaos", "load", "sim", "benchmarks", "baseline", "history"):
        assert f'id="section-{section}"' in dom
    assert dom.count("<svg") >= 6  # coverage, breaker, latency, validation, headroom, diff


def test_the_report_is_self_contained(rendered: Path):
    page = rendered.read_text()
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "<link" not in page and "@import" not in page
