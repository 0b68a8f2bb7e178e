"""Run the pipelines from the CLI: one batch per training run, with progress and a summary per batch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tasador.loop.summary import render

console = Console()
log = logging.getLogger(__name__)


def run_training(config: Path, batches: int | None = 1) -> bool:
    """Process `batches` batches (None: until the source is exhausted). True when every run succeeded."""
    from pipelines.training import training

    pipeline = training.with_options(config_path=str(config))
    columns = [TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True, disable=batches == 1) as progress:
        task = progress.add_task("batches", total=batches)
        done = 0
        while batches is None or done < batches:
            summary = _run_once(pipeline)
            if summary is None:
                return False
            console.print(render(summary))
            if summary.get("exhausted"):
                return True
            done += 1
            progress.advance(task)
    return True


def _run_once(pipeline: Any) -> dict[str, Any] | None:
    try:
        run = pipeline()
    except Exception as exc:  # ZenML re-raises the failing step's error
        console.print(f"[red]The training run failed:[/red] {exc}")
        console.print("The batch stays in RAW marked failed; run the same command again to retry it.")
        log.debug("training run failed", exc_info=True)
        return None
    return run.steps["summarize_batch"].output.load()


def run_deployment(config: Path) -> bool:
    from pipelines.deployment import deployment

    try:
        run = deployment.with_options(config_path=str(config))()
    except Exception as exc:
        console.print(f"[red]The deployment run failed:[/red] {exc}")
        return False
    result = run.steps["build_bento"].output.load()
    for key, value in result.items():
        console.print(f"  {key:<10} {value}")
    return True
