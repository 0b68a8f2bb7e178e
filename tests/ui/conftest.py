"""Fixtures of the app's tests: a filled system, an empty one, and a serving URL where nothing listens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.filled_system import FilledSystem, fill_system
from tests.support.waiting import free_port

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
#: The first run of a page imports MLflow and reads both stores; a busy 2-core machine needs a margin.
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def filled_system(tmp_path_factory: pytest.TempPathFactory) -> FilledSystem:
    return fill_system(tmp_path_factory.mktemp("ui-system") / "home")


@pytest.fixture
def dead_service_url() -> str:
    """A loopback URL where no service listens: the prediction service is down."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def filled_app(
    filled_system: FilledSystem, dead_service_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], AppTest]:
    """Opens a page of the app on the filled system, with the service down."""
    for key, value in filled_system.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TASADOR_SERVING_URL", dead_service_url)
    return open_page


@pytest.fixture
def empty_home(tmp_path: Path, dead_service_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A system on which nothing has run: its home folder does not even exist."""
    home = tmp_path / "home"
    monkeypatch.setenv("TASADOR_HOME", str(home))
    monkeypatch.delenv("TASADOR_DB_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TASADOR_SERVING_URL", dead_service_url)
    return home


@pytest.fixture
def empty_app(empty_home: Path) -> Callable[[str], AppTest]:
    """Opens a page of the app on the empty system."""
    return open_page


def open_page(page: str) -> AppTest:
    """Run the app, switch to `page` (e.g. "pages/models.py") and run it; fail on any exception shown."""
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    if page != "pages/predict.py":
        app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app
