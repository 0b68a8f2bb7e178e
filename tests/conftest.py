"""Fixtures every test may use: an isolated environment, free loopback ports, PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasador.env import QUIET_DEFAULTS

REPO_ROOT = Path(__file__).resolve().parents[1]
# A checkout beside ../shared finds the sample there; a worktree elsewhere names it in TASADOR_SAMPLE_CSV.
SAMPLE_CSV = Path(os.environ.get("TASADOR_SAMPLE_CSV") or REPO_ROOT.parent / "shared" / "data" / "realtor-data.csv")
POSTGRES_ADMIN_URL = os.environ.get("TASADOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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


@pytest.fixture(autouse=True)
def _nothing_written_into_the_repository() -> Iterator[None]:
    """MLflow falls back to ./mlruns when a tracking URI is missing: a test that does so fails here."""
    stray = REPO_ROOT / "mlruns"
    existed = stray.exists()
    yield
    if not existed and stray.exists():
        shutil.rmtree(stray, ignore_errors=True)
        pytest.fail("the test wrote ./mlruns into the repository: some MLflow call had no tracking URI")


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every_s: float = 0.2) -> None:
    """Poll `condition` until it is truthy; AssertionError naming `what` after `timeout` seconds. `condition` may
    raise to stop the wait at once (a process that exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sample_csv() -> Path:
    if not SAMPLE_CSV.exists():
        pytest.skip(f"real sample not found at {SAMPLE_CSV} (it lives in ../shared/data, never in the repo)")
    return SAMPLE_CSV


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def create_postgres_database(prefix: str = "tasador_test") -> str:
    """Create an empty database with a unique name; returns its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


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
