"""The Predict page against the real service (`bentoml serve` on a model trained with tasador's code)."""

from __future__ import annotations

import httpx
import pytest

from tasador.schema import FEATURE_COLUMNS
from tests.support.processes import Process
from tests.support.reading import chart_data, texts

pytestmark = pytest.mark.slow


@pytest.fixture
def live_app(filled_app, local_service: Process, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TASADOR_SERVING_URL", local_service.url)
    return filled_app


def test_predict_shows_the_service_price_its_version_and_a_shap_bar_per_field(live_app, local_service) -> None:
    app = live_app("pages/predict.py")
    assert not app.warning, "the service is up: no warning"
    app.selectbox(key="state").select("North Carolina").run()
    app.number_input(key="house_size").set_value(2400)
    next(b for b in app.button if b.label == "Predict").click().run()
    assert not app.exception and not app.error, texts(app.error)

    listing = {
        "status": "for_sale",
        "state": "North Carolina",
        "city": "Graham",
        "zip_code": "27253",
        "bed": 3,
        "bath": 2,
        "house_size": 2400,
        "acre_lot": 0.25,
    }
    expected = httpx.post(f"{local_service.url}/predict", json={"listings": [listing]}, timeout=30).json()
    assert app.metric[0].value == f"${expected['prices'][0]:,.0f}"
    assert f"Model version {expected['model_version']}" in texts(app.caption)

    contributions = chart_data(app)
    assert sorted(contributions["feature"]) == sorted(FEATURE_COLUMNS)
    assert set(contributions["effect"]) <= {"raises the price", "lowers the price"}
