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

    stack = _check_stack()
    if stack is None:
        return False
    pipeline = training.with_options(config_path=str(config))
    if stack.orchestrator.flavor == "airflow":
        # On Airflow a "run" writes the DAG; the scheduler takes a batch on every scheduled run.
        pipeline()
        console.print("DAG written to Airflow's dags folder: Airflow runs it on its schedule (docs/stacks.md).")
        return True
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


def _check_stack() -> Any:
    """The active stack, once every service it names answers; None (after saying which does not) otherwise."""
    from zenml.client import Client

    from stacks.resolve import active_settings
    from tasador.services.preflight import StackServicesUnavailable, check_stack_services

    stack = Client().active_stack
    store = stack.artifact_store.config
    try:
        check_stack_services(
            active_settings(), store.path, (getattr(store, "client_kwargs", None) or {}).get("endpoint_url")
        )
    except StackServicesUnavailable as exc:
        console.print(f"[red]The active stack `{stack.name}` is not ready:[/red] {exc}")
        return None
    return stack


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
