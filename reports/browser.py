"""Open report.html in headless Chromium: a screenshot beside it and the console's messages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BROWSER_S = 90
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
    "--enable-logging=stderr", "--v=1", "--window-size=1200,3000",
    # Nothing may come from the network: a self-contained page needs no host.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed")
    return subprocess.run(
        [browser, *FLAGS, *flags, page.as_uri()], capture_output=True, text=True, timeout=BROWSER_S
    )


def _console(stderr: str) -> list[str]:
    """Chromium logs every console message (and every uncaught error) as
    `...:CONSOLE:<line>] "..."`; the report logs none, so any such line is a fault."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def screenshot(page: Path, png: Path) -> list[str]:
    """Render `page` into `png`; the console messages it logged."""
    return _console(_run(page, f"--screenshot={png}").stderr)


def rendered_dom(page: Path) -> tuple[list[str], str]:
    """The console messages and the DOM of `page` once its scripts ran."""
    done = _run(page, "--dump-dom")
    return _console(done.stderr), done.stdout
