"""What every page reads first: tasador's Settings and the numbers of configs/ui.yaml."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from tasador.configs import UiConfig
from tasador.console import short_path
from tasador.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: What an empty system tells the user to do first.
RUN_FIRST = "Nothing has been processed yet: run `make run` to ingest the first batches and train a model."
#: What a system with batches but no model yet tells the user.
RUN_MORE = "Run `make run` to process the next batch."


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    config: UiConfig

    def cached(self, func: F, ttl_key: str) -> F:
        """`func` behind Streamlit's data cache, kept for `cache.<ttl_key>` seconds of configs/ui.yaml.

        Wrapping at run time rather than at import keeps the TTL in YAML; Streamlit keys its cache by the
        function's module, name and source, so every rerun shares the same entries.
        """
        ttl = getattr(self.config.cache, ttl_key)
        return st.cache_data(ttl=ttl, show_spinner=False)(func)  # type: ignore[return-value]


def load_context() -> AppContext:
    """Settings from the environment (`TASADOR_*`) and the app's numbers (`TASADOR_UI_CONFIG` overrides)."""
    settings = Settings()
    return AppContext(settings=settings, config=settings.configs.ui)


def limit_mlflow_http(config: UiConfig) -> None:
    """Keep a slow or absent MLflow server from stalling a page (MLflow reads these at each call)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(config.mlflow.http_timeout_s))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(config.mlflow.http_max_retries))


def display_uri(uri: str) -> str:
    """A URI fit to show on screen: a local store as its short path (".tasador/mlflow.db (SQLite)"), any
    password replaced by ***."""
    if uri.startswith("sqlite:///"):
        return f"{short_path(uri.removeprefix('sqlite:///'))} (SQLite)"
    parts = urlsplit(uri)
    if not parts.password:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
