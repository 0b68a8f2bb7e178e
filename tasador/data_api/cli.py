"""`python run.py datasource ...`: serve the data API, recalibrate the generator, write synthetic CSVs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tasador.configs import DatasourceConfig, ServerOptions


def _config(path: Path | None) -> DatasourceConfig:
    from tasador.configs import DatasourceConfig, read_config
    from tasador.settings import Settings

    return Settings().configs.datasource if path is None else read_config(path, DatasourceConfig)


def _default_state_dir(options: ServerOptions) -> Path:
    from tasador.settings import Settings

    return options.state_dir or Settings().home_dir / "data_api"


@click.group()
def datasource() -> None:
    """The data source: the data API server, the synthetic generator and its calibration."""


@datasource.command()
@click.option("--host", help="Interface to listen on (default: server.host).")
@click.option("--port", type=int, help="Port (default: server.port).")
@click.option(
    "--scenario", help="Synthetic scenario from configs/datasource.yaml `scenarios` (default: generator.scenario)."
)
@click.option("--seed", type=int, help="Generator seed (default: generator.seed).")
@click.option("--batch-size", type=int, help="Rows per batch.")
@click.option("--batches", type=int, help="Batches per group before the API answers 400.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve this CSV (e.g. the real sample) in file order instead of the generator.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where each group's position is kept across restarts (default: server.state_dir or $TASADOR_HOME/data_api).",
)
@click.option("--messy/--tidy", default=None, help="Serve rows with feed-style mess (default: generator.messy).")
@click.option("--fail-first", type=int, help="Answer 503 to the first N /data requests (to test clients).")
@click.option("--slow-first", type=int, help="Answer the first N /data requests only after --slow-s seconds.")
@click.option("--slow-s", type=float, help="How slow those answers are (default: server.slow_s).")
@click.option(
    "--first-batch", type=click.IntRange(0, 1), help="Number the first batch 0 or 1 (default: server.first_batch)."
)
@click.option(
    "--window-s",
    type=float,
    help="Hand each batch out for N seconds, another portion of it on every call (default: server.window_s).",
)
@click.option(
    "--rows-as-lists/--rows-as-objects",
    default=None,
    help="Rows as arrays of text in the column order (default: server.rows_as_lists).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another datasource YAML (default: configs/datasource.yaml).",
)
def serve(
    host: str | None,
    port: int | None,
    scenario: str | None,
    seed: int | None,
    batch_size: int | None,
    batches: int | None,
    csv_path: Path | None,
    state_dir: Path | None,
    messy: bool | None,
    fail_first: int | None,
    slow_first: int | None,
    slow_s: float | None,
    first_batch: int | None,
    window_s: float | None,
    rows_as_lists: bool | None,
    config_path: Path | None,
) -> None:
    """Start the data API (GET /data, /restart_data_generation, /health) until Ctrl-C."""
    from tasador.data_api.feeds import build_feed
    from tasador.data_api.server import serve as run_server

    config = _config(config_path)
    overrides = {
        "fail_first": fail_first,
        "slow_first": slow_first,
        "slow_s": slow_s,
        "first_batch": first_batch,
        "window_s": window_s,
        "rows_as_lists": rows_as_lists,
    }
    options = config.server.model_copy(update={key: value for key, value in overrides.items() if value is not None})
    try:
        feed = build_feed(
            config, scenario=scenario, seed=seed, batch_size=batch_size, batches=batches, csv=csv_path, messy=messy
        )
    except ValueError as exc:  # an unknown scenario or state, named in the message
        raise click.ClickException(str(exc)) from exc
    host = host or options.host
    port = port or options.port
    state_dir = state_dir or _default_state_dir(options)
    click.echo(
        f"Serving {feed.name} ({feed.batch_count} batches per group, numbered from {options.first_batch}"
        + (f", each for {options.window_s:g} s" if options.window_s > 0 else "")
        + (", rows as lists" if options.rows_as_lists else "")
        + f") on http://{host}:{port}; positions kept in {state_dir}"
    )
    run_server(host, port, feed, state_dir, options)


@datasource.command()
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A realtor.com CSV with the 12 columns (e.g. ../shared/data/realtor-data.csv).",
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calibrate(csv_path: Path, config_path: Path | None) -> None:
    """Recompute the generator's calibration (statistics only, no rows) from a CSV."""
    from tasador.data_api.calibrate import calibrate as summarise
    from tasador.data_api.calibrate import write_calibration

    path = write_calibration(summarise(csv_path, _config(config_path).calibration))
    click.echo(f"Calibration written to {path}")


@datasource.command()
@click.option("--rows", type=int, required=True, help="How many listings.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV to write.")
@click.option("--scenario", help="A scenario of configs/datasource.yaml (default: generator.scenario).")
@click.option("--seed", type=int)
@click.option("--group", type=int, default=1, show_default=True)
@click.option("--batch", "batch_number", type=int, default=1, show_default=True)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def generate(
    rows: int,
    out: Path,
    scenario: str | None,
    seed: int | None,
    group: int,
    batch_number: int,
    config_path: Path | None,
) -> None:
    """Write one synthetic batch of any size to a CSV, chunk by chunk (memory stays bounded)."""
    from tasador.data_api.generator import generator_from_config

    try:
        generator = generator_from_config(_config(config_path), scenario=scenario, seed=seed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    for index, chunk in enumerate(generator.iter_batch(group, batch_number, rows)):
        chunk.to_csv(out, mode="w" if index == 0 else "a", header=index == 0, index=False)
    click.echo(f"{rows} listings written to {out}")


if __name__ == "__main__":
    datasource()
