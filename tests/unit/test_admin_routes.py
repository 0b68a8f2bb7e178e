"""The service's admin routes in process: who may ask every worker to check the alias now."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from tasador.serving.api import create_app
from tasador.serving.reload_signal import ReloadSignal
from tasador.serving.runtime import Runtime
from tasador.settings import Settings


def client_with(tmp_path: Path, token: str | None) -> TestClient:
    config = Settings().configs.serving
    app = create_app(config)
    settings = Settings(home=tmp_path, db_url=f"sqlite:///{tmp_path / 'log.db'}", admin_token=token)
    app.state.runtime = Runtime(config, settings, CollectorRegistry())  # not started: no model, no registry
    return TestClient(app)


@pytest.mark.parametrize("token", [None, ""])
def test_without_a_configured_token_reload_refuses_everyone(tmp_path: Path, token: str | None) -> None:
    client = client_with(tmp_path, token)
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer x"}):
        answer = client.post("/admin/reload", headers=header)
        assert answer.status_code == 401 and "TASADOR_ADMIN_TOKEN" in answer.json()["message"]


def test_the_right_token_signals_every_worker(tmp_path: Path) -> None:
    client = client_with(tmp_path, "s3cret")
    watcher_signal = ReloadSignal(tmp_path / "serving")  # what another worker of this service watches
    assert client.post("/admin/reload", headers={"Authorization": "Bearer s3cre"}).status_code == 401
    assert not watcher_signal.changed()
    assert client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 202
    assert watcher_signal.changed() and not watcher_signal.changed()  # once per signal
