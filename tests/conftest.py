"""Fixtures every test may use: an isolated environment, PostgreSQL databases, and the plugins of tests/support."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasador.env import QUIET_DEFAULTS
from tests.support.paths import REPO_ROOT, SAMPLE_CSV
from tests.support.postgres import create_postgres_database, drop_database, postgres_available

#: Fixture modules every test may ask for by name (each module says what it starts).
pytest_plugins = [
    "tests.support.data_api",
    "tests.support.private_postgres",
    "tests.support.prod",
    "tests.support.service",
]
#: The checkout's top-level entries when the session started: tools write `./mlruns`, `./mlartifacts`, `.zen`,
#: `.hypothesis` into whatever folder they run in, and a test (or a process it starts) must write none.
_CHECKOUT_AT_START: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    # Nothing a test does may reach the user's home or send telemetry.
    for key, value in QUIET_DEFAULTS.items():
        os.environ[key] = value
    session_home = Path(os.environ.get("TMPDIR", "/tmp")) / f"tasador-tests-{os.getpid()}"
    os.environ["TASADOR_HOME"] = str(session_home / "home")
    os.environ["ZENML_CONFIG_PATH"] = str(session_home / "zenml")
    os.environ["MPLBACKEND"] = "Agg"
    for key in ("TASADOR_DB_URL", "MLFLOW_TRACKING_URI"):
        os.environ.pop(key, None)
    _hypothesis_examples_in(session_home / "hypothesis")
    _CHECKOUT_AT_START.update(_checkout_entries())


def _hypothesis_examples_in(folder: Path) -> None:
    """Hypothesis keeps its examples and caches (constants, unicode data) in ./.hypothesis unless told where."""
    from hypothesis import settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(folder)  # read at its first write, by child processes too
    settings.register_profile("tasador", database=DirectoryBasedExampleDatabase(str(folder / "examples")))
    settings.load_profile("tasador")


def _checkout_entries() -> set[str]:
    return {entry.name for entry in REPO_ROOT.iterdir()}


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test starts from the session's environment: `mlflow.set_tracking_uri` exports MLFLOW_TRACKING_URI
    for child processes, so a test that configured MLflow in-process would point a later test's commands at
    its own (deleted) tracking store; which test runs next depends on the order and on `-n`."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _nothing_written_into_the_repository() -> Iterator[None]:
    """A test that writes into the checkout's root (MLflow's ./mlruns without a tracking URI...) fails here."""
    before = _checkout_entries()
    yield
    stray = sorted(_checkout_entries() - before - _CHECKOUT_AT_START)
    if stray:
        pytest.fail(f"the test wrote {stray} into the checkout ({REPO_ROOT}): give that tool a folder under tmp")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """What fixtures of wider scope and the processes tests started wrote, which no single test's check sees."""
    stray = sorted(_checkout_entries() - _CHECKOUT_AT_START)
    if stray and _CHECKOUT_AT_START:
        print(f"\nThe test session wrote {stray} into the checkout ({REPO_ROOT}); nothing may be written there.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sample_csv() -> Path:
    if not SAMPLE_CSV.exists():
        pytest.skip(f"real sample not found at {SAMPLE_CSV} (it lives in ../shared/data, never in the repo)")
    return SAMPLE_CSV


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    url = create_postgres_database()
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tasador.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Store on each real database in turn: a SQLite file, then a PostgreSQL database of its own."""
    from tasador.store import Store

    db = Store(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))
    yield db
    db.dispose()
