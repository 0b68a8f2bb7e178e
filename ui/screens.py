"""The app's pages in a browser: how Chromium starts headless here, and when a page has finished drawing.

Shared by the browser tests (tests/e2e) and the script that takes the README's screenshots
(scripts/screenshots.py), so both see the pages the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (scripts/system-deps.sh installs it)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 2000}


def open_page(page: Any, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for()


def wait_rendered(page: Any) -> None:
    """Until every chart has drawn and no placeholder (skeleton) is left: what a screenshot should show."""
    for chart in page.get_by_test_id("stVegaLiteChart").all():
        chart.locator("canvas, svg").first.wait_for()
    for table in page.get_by_test_id("stDataFrame").all():
        table.locator("canvas").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stSkeleton]').length === 0")
