"""Run the pipelines from the CLI: one batch per training run, with progress and a summary per batch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from tasador.console import fit
from tasador.loop.summary import render
from tasador.loop.turns import Pace, run_turns
from tasador.results import BatchSummary

if TYPE_CHECKING:
    from zenml.models import PipelineRunResponse

log = logging.getLogger(__name__)


def run_training(config: Path, console: Console, batches: int | None = 1) -> bool:
    """Process `batches` batches (None: until the source is exhausted). True when every run succeeded."""
    from pipelines.training import training

    stack = _check_stack(console)
    if stack is None:
        return False
    pipeline = training.with_options(config_path=str(config))
    if stack.orchestrator.flavor == "airflow":
        # On Airflow a "run" writes the DAG; the scheduler takes a batch on every scheduled run.
        pipeline()
        console.print("DAG written to Airflow's dags folder: Airflow runs it on its schedule (docs/stacks.md).")
        return True
    from steps.stop_signal import installed

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if batches != 1:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[stage]}")]
    group_number = _group_number(config)
    with (
        installed() as stop_requested,
        # Not rich's default redirects: they would send what other tools write to sys.stdout/stderr to the
        # terminal. Piped, no progress line (it would leave an empty line behind).
        Progress(
            *columns,
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not console.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("training", total=batches, stage="")

        def after_turn(summary: BatchSummary) -> None:
            console.print(fit(render(summary), console), markup=False)
            if not summary.exhausted:
                progress.advance(task)

        with _stages_shown(progress, task):
            return run_turns(
                lambda: _run_once(pipeline, group_number, console),
                batches,
                pace=_pace(),
                say=console.print,
                after_turn=after_turn,
                stop_requested=stop_requested,
            )


def _pace() -> Pace:
    """How the run paces itself between batches: only a data API has a clock to wait for."""
    from stacks.resolve import active_settings

    settings = active_settings()
    if settings.source != "http":
        return Pace()
    return Pace.from_config(settings.configs.datasource.client)


@contextmanager
def _stages_shown(progress: Progress, task: TaskID) -> Iterator[None]:
    """The progress line names the stage running (steps announce it on steps.context.STAGE_LOG)."""
    from steps.context import STAGE_LOG

    class ShowStage(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            progress.update(task, stage=record.getMessage())

    handler = ShowStage()
    STAGE_LOG.addHandler(handler)
    STAGE_LOG.setLevel(logging.INFO)  # ZenML sets the root's level to WARN
    try:
        yield
    finally:
        STAGE_LOG.removeHandler(handler)


def _check_stack(console: Console) -> Any:
    """The active stack, once every service it names answers; None (after saying which does not) otherwise."""
    from zenml.client import Client

    stack = Client().active_stack
    problems = _unreachable_services(stack)
    if problems is not None:
        console.print(f"[red]The active stack `{stack.name}` is not ready:[/red] {problems}", soft_wrap=True)
        return None
    return stack


def _unreachable_services(stack: Any) -> str | None:
    """What the stack's services check says is unreachable, or None when all answer."""
    from stacks.resolve import active_settings
    from tasador.services.preflight import StackServicesUnavailable, check_stack_services

    store = stack.artifact_store
    endpoint = (getattr(store.config, "client_kwargs", None) or {}).get("endpoint_url")
    try:
        # The store's own `exists` resolves its secret and signs with its keys, as every step will.
        check_stack_services(
            active_settings(),
            store.path,
            endpoint,
            s3_probe=lambda: store.exists(store.path),
            stack_file=f"stacks/{stack.name}.yaml",
        )
    except StackServicesUnavailable as exc:
        return str(exc)
    return None


def _group_number(config: Path) -> int | None:
    import yaml

    return ((yaml.safe_load(config.read_text()) or {}).get("parameters") or {}).get("group_number")


def _run_once(pipeline: Any, group_number: int | None, console: Console) -> BatchSummary | None:
    try:
        run = pipeline()
    except Exception as exc:  # ZenML re-raises the failing step's error
        console.print(f"[red]The training run failed:[/red] {exc}")
        _record_failure(exc, group_number, console)
        log.debug("training run failed", exc_info=True)
        return None
    summary: BatchSummary = run.steps["summarize_batch"].output.load()
    return summary


def _record_failure(exc: Exception, group_number: int | None, console: Console) -> None:
    """Say what is unreachable now, and record the failure on the batch so the next run retries it."""
    from zenml.client import Client

    from stacks.resolve import active_settings
    from tasador.ingest.failures import record_failed_run
    from tasador.store import Store

    problems = _unreachable_services(Client().active_stack)
    if problems is not None:
        console.print(problems)
    unreachable = (
        None if problems is None else "; ".join(line[2:] for line in problems.splitlines() if line.startswith("- "))
    )
    try:
        settings = active_settings()
        batch = record_failed_run(
            Store(settings.database_url), settings, group_number, f"{type(exc).__name__}: {exc}", unreachable
        )
    except Exception as store_error:  # the RAW/CLEAN database itself may be what is down
        console.print(f"The failure could not be recorded in RAW ({store_error}); the next run retries anyway.")
        return
    if batch is None:
        console.print("No batch reached RAW in this run; run the same command again once the cause is fixed.")
    else:
        console.print(
            f"Batch {batch.batch_number} (id {batch.id}) stays in RAW marked failed ({batch.error}); "
            "run the same command again to retry it."
        )


def run_deployment(config: Path, console: Console, image: bool = True) -> bool:
    """Build (or reuse) the bento of `production` and, where `image` and buildah allow, its image."""
    from pipelines.deployment import deployment

    try:
        run = deployment.with_options(config_path=str(config))(image=image)
    except Exception as exc:
        console.print(f"[red]The deployment run failed:[/red] {exc}")
        return False
    built = _ran(run).steps["build_bento"].output.load()
    reused = "reused: already built from the same model version and commit"
    image_line = f"{built.image} ({reused if built.image_reused else 'built'})" if built.image else built.image_note
    for key, value in (
        ("model", built.model),
        ("bento", f"{built.bento} ({reused if built.bento_reused else 'built'})"),
        ("image", image_line),
    ):
        console.print(f"  {key:<10} {value}", markup=False, soft_wrap=True)
    return not built.image_failed


def run_batch_inference(config: Path, console: Console, input_path: Path | None, clean_where: str | None) -> bool:
    """Price a file (or a query over CLEAN) with `production`; print where the predictions went."""
    from pipelines.batch_inference import batch_inference

    if _check_stack(console) is None:
        return False
    try:
        run = batch_inference.with_options(config_path=str(config))(
            input_path=str(input_path.resolve()) if input_path else None, clean_where=clean_where
        )
    except Exception as exc:
        console.print(f"[red]The batch-inference run failed:[/red] {exc}")
        return False
    scoring = _ran(run).steps["score_listings"].outputs["batch_scoring"][0].load()
    console.print(
        f"Scoring {scoring.scoring_id}: {scoring.priced:,} of {scoring.rows:,} rows priced by "
        f"{scoring.model_name} version {scoring.model_version}; {scoring.refused:,} refused"
        + (f" ({', '.join(f'{r}: {n}' for r, n in scoring.top_reasons.items())})" if scoring.refused else "")
        + f".\nTable `{scoring.table}` (scoring_id = {scoring.scoring_id}); artifacts `batch_predictions`, "
        "`batch_scoring` of this run."
    )
    return True


def _ran(run: PipelineRunResponse | None) -> PipelineRunResponse:
    """The run a pipeline call returned; ZenML returns none when a schedule, not a run, was created."""
    if run is None:
        raise RuntimeError(
            "ZenML created a schedule instead of running the pipeline; remove `schedule` from its config."
        )
    return run
