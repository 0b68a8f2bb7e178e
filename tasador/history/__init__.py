"""The model history report: every batch, every decision, every version and why it serves or not."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from tasador.history.build import BatchHistory, History, ModelRecord, build_history
from tasador.history.render import write_report
from tasador.settings import Settings
from tasador.store import Store

__all__ = ["BatchHistory", "History", "ModelRecord", "build_history", "report_models", "write_report"]


def report_models(settings: Settings, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Build the history from the settings' database and tracking store; write it to `out_dir`.

    `out_dir` defaults to `models` in the database's folder of `reports_dir` (beside its batches' reports).
    """
    settings.ensure_home()  # the embedded SQLite stores live there; a fresh clone gets an empty report
    store = Store(settings.database_url)
    try:
        history = build_history(store, MlflowClient(settings.tracking_uri, settings.tracking_uri), settings)
        out_dir = out_dir or settings.reports_dir / store.folder_name / "models"
    finally:
        store.dispose()
    return write_report(history, out_dir)
