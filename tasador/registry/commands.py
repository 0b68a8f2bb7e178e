"""`python run.py model ...`: roll the serving alias back, and show which version served when."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from tasador.registry.alias_moves import ServedPeriod, moves, served_periods

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from tasador.settings import Settings


@click.group()
def model() -> None:
    """The registered model's serving alias: rollback and history."""


@model.command("rollback")
@click.option("--to", "to_version", help="Version to serve (default: the one that served before the current).")
@click.option("--reason", required=True, help="Why: recorded with the move and on both versions.")
def rollback_cmd(to_version: str | None, reason: str) -> None:
    """Move `production` back in one alias update; the service follows (event or next poll)."""
    from tasador.registry.rollback import RollbackRefused, rollback

    settings, client = _registry()
    try:
        move = rollback(client, settings.registered_model_name, settings.production_alias, reason, to_version)
    except RollbackRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"'{move.alias}' of {settings.registered_model_name}: version {move.from_version} -> {move.to_version} "
        f"(move {move.sequence}, {move.at:%Y-%m-%d %H:%M:%S} UTC): {move.reason}"
    )


@model.command("history")
def history_cmd() -> None:
    """Which version served when, from the recorded alias moves (promotions and rollbacks)."""
    settings, client = _registry()
    recorded = moves(client, settings.registered_model_name, settings.production_alias)
    if not recorded:
        click.echo(f"No move of '{settings.production_alias}' is recorded for {settings.registered_model_name} yet.")
        return
    Console().print(history_table(served_periods(recorded)))


def history_table(periods: list[ServedPeriod]) -> Table:
    table = Table("move", "version", "from", "until", "kind", "from version", "reason", "served prices moved")
    for period in reversed(periods):
        move = period.started_by
        table.add_row(
            str(move.sequence),
            period.version,
            f"{period.since:%Y-%m-%d %H:%M:%S}",
            "serving now" if period.until is None else f"{period.until:%Y-%m-%d %H:%M:%S}",
            move.kind,
            move.from_version or "-",
            move.reason,
            move.shadow.summary() if move.shadow else "-",
        )
    return table


def _registry() -> tuple[Settings, MlflowClient]:
    from stacks.resolve import active_settings
    from tasador.registry.tracking import configure_mlflow

    settings = active_settings()
    return settings, configure_mlflow(settings)
