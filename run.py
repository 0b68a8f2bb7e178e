"""tasador's command line: run the pipelines, apply stacks, serve the data API, write reports.

Imports of ZenML, MLflow and friends stay inside the commands, so `python run.py --help` is instant.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import click

from tasador.env import quiet_environment

if TYPE_CHECKING:
    from rich.console import Console

ROOT = Path(__file__).resolve().parent


class LazyGroup(click.Group):
    """Command groups owned by their packages, imported only when called (the data API image stays small)."""

    lazy: ClassVar[dict[str, str]] = {
        "datasource": "tasador.data_api.cli:datasource",
        "model": "tasador.registry.commands:model",
        "services": "tasador.services.cli:services",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--pipeline",
    type=click.Choice(["training", "deployment", "batch-inference"]),
    help="Run a pipeline on the active ZenML stack.",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Batch inference: a CSV file of listings to price.",
)
@click.option("--clean-where", help="Batch inference: price the CLEAN rows this SQL condition selects instead.")
@click.option("--batches", type=int, default=1, show_default=True, help="Training: how many batches to process.")
@click.option("--until-exhausted", is_flag=True, help="Training: process batches until the source has none left.")
@click.option("--no-image", is_flag=True, help="Deployment: build the bento only, not its OCI image.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="ZenML run config (default: configs/<pipeline>.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show other tools' notices here, not in .tasador/logs/.")
@click.pass_context
def cli(
    ctx: click.Context,
    pipeline: str | None,
    input_path: Path | None,
    clean_where: str | None,
    batches: int,
    until_exhausted: bool,
    no_image: bool,
    config_path: Path | None,
    verbose: bool,
) -> None:
    """tasador: continuous training for house prices.

    \b
    python run.py --pipeline training                 process the next batch
    python run.py --pipeline training --batches 5     process five batches
    python run.py --pipeline deployment               build the bento (and image) of `production`
    python run.py --pipeline deployment --no-image    the bento only
    python run.py --pipeline batch-inference --input listings.csv   price a file with `production`
    python run.py model rollback --reason "..."       serve the previous version again
    python run.py model history                       which version served when
    python run.py demo                                the demo: calm, drift, retraining, promotion, rejection
    python run.py stack apply stacks/local.yaml       register a stack from YAML
    python run.py datasource serve                    start the data API
    python run.py report models                       the model history report
    python run.py monitor served                      served traffic since the last check, for drift
    """
    quiet_environment()
    if ctx.invoked_subcommand is not None:
        return
    if pipeline is None:
        click.echo(ctx.get_help())
        return
    from pipelines.runner import run_batch_inference, run_deployment, run_training

    config = config_path or ROOT / "configs" / f"{pipeline}.yaml"
    with routed(pipeline) as console:
        if pipeline == "training":
            ok = run_training(config, console, batches=None if until_exhausted else batches)
        elif pipeline == "batch-inference":
            if (input_path is None) == (clean_where is None):
                raise click.UsageError("Batch inference needs one input: --input FILE.csv or --clean-where CONDITION.")
            ok = run_batch_inference(config, console, input_path, clean_where)
        else:
            ok = run_deployment(config, console, image=not no_image)
    sys.exit(0 if ok else 1)


def routed(command: str) -> AbstractContextManager[Console]:
    """The console for tasador's lines; other tools' output goes to .tasador/logs/ unless -v was given."""
    from tasador.console import routed_output
    from tasador.settings import Settings

    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    return routed_output(Settings().home_dir / "logs", command, verbose)


@cli.command()
def demo() -> None:
    """The demo scenario through the batches that tell the whole story (configs/demo.yaml), then where to look."""
    from pipelines.demo import run_demo

    with routed("demo") as console:
        ok = run_demo(ROOT / "configs" / "training.yaml", console)
    sys.exit(0 if ok else 1)


@cli.group()
def stack() -> None:
    """Stacks described in stacks/*.yaml."""


@stack.command("apply")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--activate/--no-activate", default=False, help="Also make it the active stack.")
def stack_apply(path: Path, activate: bool) -> None:
    """Register (or update) the stack described in PATH; safe to run again."""
    from tasador.settings import Settings

    settings = Settings()
    settings.ensure_home()
    with routed("stack-apply") as console:
        from stacks.apply import apply_stack  # imports ZenML, whose notices go where `routed` says

        for item in apply_stack(path, settings.home_dir, activate=activate):
            note = f"  ({item.note})" if item.note else ""
            console.print(f"{item.action:>10}  {item.kind:<20} {item.name}{note}", markup=False)
        if activate:
            console.print(f"Active stack: {path.stem}", markup=False)


@cli.group()
def monitor() -> None:
    """Checks of what production meets, on demand."""


@monitor.command("served")
def monitor_served() -> None:
    """Compare the requests served since the last check with production's training data (drift, volume)."""
    from stacks.resolve import active_settings
    from tasador.monitoring.served import check_served
    from tasador.store import Store

    settings = active_settings()
    window = check_served(Store(settings.database_url), settings)
    click.echo("No new request since the last check, or no production model." if window is None else window.describe())


@cli.group()
def report() -> None:
    """Reports a person can open."""


@report.command("models")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder (default .tasador/reports).")
def report_models_cmd(out: Path | None) -> None:
    """Drift, decisions, models trained, promoted or rejected and why, over all batches."""
    from stacks.resolve import active_settings
    from tasador.console import short_path
    from tasador.history import report_models

    md, html = report_models(active_settings(), out_dir=out)
    click.echo(f"Markdown: {short_path(md)}\nHTML:     {short_path(html)}")


@report.command("data")
@click.option("--batch", "batch_id", type=int, help="Batch id (default: the latest).")
def report_data(batch_id: int | None) -> None:
    """Print the path of a batch's data report (Great Expectations, HTML and JSON)."""
    from stacks.resolve import active_settings
    from tasador.console import short_path
    from tasador.store import Store

    store = Store(active_settings().database_url)
    batches = store.batches()
    if not batches:
        raise click.ClickException("No batch yet: run `python run.py --pipeline training` first.")
    batch_id = batch_id or batches[-1].id
    found = store.report(batch_id)
    if found is None:
        raise click.ClickException(f"Batch {batch_id} has no data report (was it validated?).")
    click.echo(f"HTML: {short_path(found['html_path'])}\nJSON: {short_path(found['json_path'])}")


if __name__ == "__main__":
    cli()
