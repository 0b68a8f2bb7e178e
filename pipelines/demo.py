"""`make demo`: the demo scenario through enough batches to tell the whole story, then where to look.

The scenario (configs/datasource.yaml, `demo`) is calm for five batches, then prices inflate: the first
batch trains and promotes a model, the calm ones are not retrained, drift in price triggers a retraining
whose challenger is promoted, and the next drifted batch's challenger is rejected for not beating
production by the margin (configs/demo.yaml says how many batches that takes). A demo run again only
processes the batches still missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from pipelines.runner import run_training
from tasador.configs import DemoConfig
from tasador.console import fit, short_path
from tasador.settings import Settings

if TYPE_CHECKING:
    from tasador.history import History


def run_demo(config: Path, console: Console) -> bool:
    """Process the demo's batches still missing on the active stack, write the model history report and say
    how to open the app, MLflow's UI and the report. True when every run succeeded."""
    from mlflow import MlflowClient

    from stacks.resolve import active_settings
    from tasador.history import build_history, write_report
    from tasador.store import Store

    settings = active_settings()
    demo = settings.configs.demo
    store = Store(settings.database_url)
    try:
        done = sum(batch.status == "done" for batch in store.batches())
        missing = max(0, demo.batches - done)
        if missing:
            console.print(f"The demo: {missing} of its {demo.batches} batches on the active stack.")
            if not run_training(config, console, batches=missing):
                return False
        else:
            console.print(f"The demo's {demo.batches} batches are processed already (`make clean` starts over).")
        history = build_history(store, MlflowClient(settings.tracking_uri, settings.tracking_uri), settings)
        reports = settings.reports_dir / store.folder_name / "models"  # where `report models` writes it
    finally:
        store.dispose()
    _, html = write_report(history, reports)
    console.print(fit(_story(history), console), markup=False)
    # Unwrapped: a command cut over two lines could not be copied whole.
    console.print("\n".join(_where_to_look(settings, html, demo)), markup=False, soft_wrap=True)
    return True


def _story(history: History) -> list[str]:
    """What the batches showed, in a few lines: calm ones, retrainings, promotions, rejections and why."""
    kept = [b for b in history.batches if b.retrain is False]
    retrained = [b for b in history.batches if b.retrain]
    lines = ["", "What the demo showed:", f"  {len(kept)} batches without retraining, {len(retrained)} retrainings"]
    for model in history.models:
        batch = f"batch {model.source_batch}" if model.source_batch is not None else "no batch"
        lines.append(f"  version {model.version} ({batch}) {model.decision or 'not judged'}: {model.reason}")
    return lines


def _where_to_look(settings: Settings, report: Path, demo: DemoConfig) -> list[str]:
    port = demo.mlflow_ui_port
    return [
        "",
        "Now look at it:",
        "  the app        `make serve` in one terminal, `make ui` in another: http://127.0.0.1:8501",
        f"  MLflow's UI    `.venv/bin/mlflow ui --backend-store-uri {_short_uri(settings.tracking_uri)} --port {port}`:"
        f" http://127.0.0.1:{port}",
        f"  model history  {short_path(report)} (and models.md beside it)",
        "  data reports   `python run.py report data --batch N`",
    ]


def _short_uri(uri: str) -> str:
    """A local SQLite store relative to the working directory, as a command line someone types."""
    return f"sqlite:///{short_path(uri.removeprefix('sqlite:///'))}" if uri.startswith("sqlite:///") else uri
