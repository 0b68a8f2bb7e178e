"""What a person sees: every page of the app in Chromium over a system with three processed batches and
a running service; a prediction submitted from the form shows the service's price. Screenshots of each
page go to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import System
from ui import data

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.long]

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
#: Streamlit renders over a websocket after the page loads; a loaded 2-core machine needs a margin.
RENDER_TIMEOUT_MS = 90_000


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def open_page(page: Any, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for()


def wait_rendered(page: Any) -> None:
    """Until every chart has drawn and no placeholder (skeleton) is left: what the screenshot should show."""
    for chart in page.get_by_test_id("stVegaLiteChart").all():
        chart.locator("canvas, svg").first.wait_for()
    for table in page.get_by_test_id("stDataFrame").all():
        table.locator("canvas").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stSkeleton]').length === 0")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def default_listing(system: System) -> dict[str, Any]:
    """The listing the form sends untouched: the first state, city and zip of CLEAN, configs/ui.yaml's numbers."""
    places = data.locations(system.database_url)
    state = sorted(places)[0]
    city = places[state][0]
    return {
        "status": "for_sale",
        "state": state,
        "city": city,
        "zip_code": data.zip_codes(system.database_url, state, city)[0],
        "bed": 3,
        "bath": 2,
        "house_size": 1800,
        "acre_lot": 0.25,
    }


def test_predict_shows_the_service_price_and_its_explanation(page, app_url, service, processed_system) -> None:
    open_page(page, app_url, "Predict a price")
    page.get_by_role("button", name="Predict").click()
    price = page.get_by_test_id("stMetricValue").first
    price.wait_for()

    answer = httpx.post(f"{service.url}/predict", json={"listings": [default_listing(processed_system)]}, timeout=30)
    expected = answer.json()
    assert price.inner_text() == f"${expected['prices'][0]:,.0f}"
    page.get_by_text(f"Model version {expected['model_version']} ·").wait_for()
    page.get_by_role("heading", name="Why this price").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    wait_rendered(page)
    screenshot(page, "predict")


def test_models_page(page, app_url) -> None:
    open_page(page, app_url + "/models", "Models")
    assert "is production" in page.get_by_test_id("stAlertContentSuccess").inner_text()
    page.get_by_role("heading", name="Production metrics over batches").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    wait_rendered(page)
    screenshot(page, "models")


def test_batches_page(page, app_url) -> None:
    open_page(page, app_url + "/batches", "Batches")
    page.get_by_role("heading", name="Decision").wait_for()
    page.get_by_text("Download the data report (HTML)").wait_for()
    with page.expect_download() as download:
        page.get_by_text("Download the data report (HTML)").click()
    assert download.value.suggested_filename.endswith(".html")
    wait_rendered(page)
    screenshot(page, "batches")


def test_explainability_page(page, app_url) -> None:
    open_page(page, app_url + "/explainability", "Explainability")
    page.get_by_role("heading", name="Global importance").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    wait_rendered(page)
    screenshot(page, "explainability")
