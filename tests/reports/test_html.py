"""report.html in a real browser (headless Chromium): it renders, the page logs no console
error, and a screenshot is kept next to it. The console check is proven on a page that logs
an error on purpose."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.reports.plant import OPERATIONS, Artifacts, build, campaign_json

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def open_in_chromium(page: Path, screenshot: Path) -> tuple[list[str], str]:
    """Console messages the page logged and its rendered DOM (one headless run each)."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--enable-logging=stderr", "--v=1", "--window-size=1200,3000",
             "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND"]  # fmt: skip
    shot = subprocess.run(
        [*flags, f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90
    )
    lines = (shot.stderr + dom.stderr).splitlines()
    # Chromium logs every console message (and uncaught error) as `...:CONSOLE:<line>] "..."`;
    # the report logs nothing at all, so any such line is a failure.
    console = [line for line in lines if ":CONSOLE" in line]
    return console, dom.stdout


def test_the_console_check_sees_an_error_a_page_logs(tmp_path: Path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body>x<script>console.error('planted failure')</script></body></html>")
    console, dom = open_in_chromium(page, tmp_path / "broken.png")
    assert any("planted failure" in line for line in console), console
    assert "x" in dom


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    artifacts = Artifacts(root).clean(campaign_json(mutant="double_charge"))
    slowed = dict(OPERATIONS, **{"gql Product": 60.0})
    earlier = build(Artifacts(root / "earlier").clean(campaign_json()), root / "e" / "out")
    artifacts.plant_load(slowed)
    build(artifacts, root / "out", baseline=(earlier, "earlier"))
    [page] = (root / "out").glob("*/report.html")
    return page


def test_the_report_renders_with_no_console_error_and_a_screenshot_is_kept(rendered: Path):
    screenshot = rendered.with_name("report.png")
    console, dom = open_in_chromium(rendered, screenshot)
    assert console == []
    assert screenshot.stat().st_size > 10_000
    assert 'id="verdict"' in dom and "NO-GO" in dom
    for section in ("contracts", "chaos", "load", "sim", "benchmarks", "baseline", "history"):
        assert f'id="section-{section}"' in dom
    assert dom.count("<svg") >= 6  # coverage, breaker, latency, validation, headroom, diff


def test_the_report_is_self_contained(rendered: Path):
    page = rendered.read_text()
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "<link" not in page and "@import" not in page
