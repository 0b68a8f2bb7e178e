"""What a person sees: every page of the app in Chromium over a system with three processed batches and
a running service; a prediction submitted from the form shows the service's price and a labelled bar per
field; the service's docs page renders with no network. Screenshots of each page go to the test's tmp
folder (the README's come from `make demo`: scripts/screenshots.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tasador.schema import COLUMN_LABELS, FEATURE_COLUMNS
from tests.e2e.conftest import System
from ui import data
from ui.screens import VIEWPORT, open_page, wait_rendered

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.long]
#: Streamlit renders over a websocket after the page loads; a loaded 2-core machine needs a margin.
RENDER_TIMEOUT_MS = 90_000


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    # Offline, as on a closed network: anything beyond loopback is refused (a CDN would leave pages blank).
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1") else route.abort(),
    )
    page = context.new_page()
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, folder: Any, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


#: The visible y-axis labels and the bars of the first chart on the page (Streamlit draws Vega-Lite as SVG;
#: a label Vega-Lite hides for crowding stays in the SVG with opacity 0).
BARS_AND_LABELS = """() => {
  const chart = document.querySelector('[data-testid=stVegaLiteChart] svg');
  const visible = (el) => getComputedStyle(el).opacity !== '0' && el.getAttribute('opacity') !== '0';
  const labels = [...chart.querySelectorAll('.role-axis-label text')].filter(visible).map((t) => t.textContent);
  return {bars: chart.querySelectorAll('.mark-rect.role-mark path').length, labels};
}"""


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


def test_predict_shows_the_service_price_and_its_explanation(
    page, app_url, service, processed_system, screenshots
) -> None:
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
    drawn = page.evaluate(BARS_AND_LABELS)
    assert drawn["bars"] == len(FEATURE_COLUMNS), drawn
    named = [label for label in drawn["labels"] if label in COLUMN_LABELS.values()]
    assert sorted(named) == sorted(COLUMN_LABELS[c] for c in FEATURE_COLUMNS), f"every bar has its label: {drawn}"
    screenshot(page, screenshots, "predict")


def test_the_service_docs_page_renders_offline(page, service) -> None:
    """/docs draws every route from the one OpenAPI document, with Swagger UI's files from the service itself."""
    page.goto(f"{service.url}/docs")
    for route in ("/predict", "/explain", "/model", "/health", "/ready"):
        page.locator(".opblock-summary-path", has_text=route).first.wait_for()
    assert httpx.get(f"{service.url}/docs.json").json() == httpx.get(f"{service.url}/openapi.json").json()


def test_models_page(page, app_url, screenshots) -> None:
    open_page(page, app_url + "/models", "Models")
    assert "is production" in page.get_by_test_id("stAlertContentSuccess").inner_text()
    page.get_by_role("heading", name="Production metrics over batches").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    wait_rendered(page)
    screenshot(page, screenshots, "models")


def test_batches_page(page, app_url, screenshots) -> None:
    open_page(page, app_url + "/batches", "Batches")
    page.get_by_role("heading", name="Decision").wait_for()
    page.get_by_text("Download the data report (HTML)").wait_for()
    with page.expect_download() as download:
        page.get_by_text("Download the data report (HTML)").click()
    assert download.value.suggested_filename.endswith(".html")
    wait_rendered(page)
    screenshot(page, screenshots, "batches")


def test_explainability_page(page, app_url, screenshots) -> None:
    open_page(page, app_url + "/explainability", "Explainability")
    page.get_by_role("heading", name="Global importance").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    wait_rendered(page)
    screenshot(page, screenshots, "explainability")
