"""The settings object: keywords given in code win over the environment, for every field."""

from __future__ import annotations

import pytest

from tasador.settings import Settings


def test_a_tracking_uri_given_in_code_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI: code that passes its own store must still get it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///from-the-environment.db")
    assert Settings(mlflow_tracking_uri="sqlite:///given.db").tracking_uri == "sqlite:///given.db"
    assert Settings().tracking_uri == "sqlite:///from-the-environment.db"


def test_tasador_prefixed_tracking_uri_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TASADOR_MLFLOW_TRACKING_URI", "sqlite:///prefixed.db")
    assert Settings().tracking_uri == "sqlite:///prefixed.db"
