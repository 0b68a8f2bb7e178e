"""Batch scoring end to end: read a CSV, parse and check it as cleaning does, encode, predict, write the table.

    python -m benchmarks.batch_scoring [--rows 1000000] [--pipeline]

A synthetic CSV of `--rows` listings (the generator's, demo scenario) is priced by a model trained as
benchmarks/serving.py trains one, through `tasador.serving.batch_scoring.score_with_production` (what the
pipeline's step runs), into SQLite and, when it answers, a scratch PostgreSQL database. `--pipeline` also
times `python run.py --pipeline batch-inference --input FILE` on a fresh local ZenML stack (process start,
ZenML, artifacts and all). Prints the figures for BENCHMARKS.md.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import click
import pyarrow as pa
from pyarrow import csv as pa_csv

from benchmarks.harness import run_timed, scratch_postgres
from benchmarks.serving import POSTGRES_DEFAULT, POSTGRES_ENV, register_model
from tasador.env import QUIET_DEFAULTS
from tasador.settings import Settings
from tests.support.benchmark_configs import ServingBenchmark, benchmark_config

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_listings(path: Path, rows: int) -> None:
    """The generator's listings as a CSV file, chunk by chunk (not timed)."""
    from tasador.data_api.generator import generator_from_config

    generator = generator_from_config(Settings().configs.datasource, scenario="demo")
    with path.open("wb") as out:
        for index, chunk in enumerate(generator.iter_batch(1, 1, rows)):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=index == 0))


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def score(settings: Settings, listings: Path) -> tuple[float, float, int]:
    from tasador.serving.batch_scoring import score_with_production
    from tasador.store import Store

    store = Store(settings.database_url)
    started, cpu = time.perf_counter(), cpu_s()
    _, scoring = score_with_production(store, settings, lambda done, total: None, input_path=listings)
    wall, used = time.perf_counter() - started, cpu_s() - cpu
    store.dispose()
    return wall, used, scoring.rows


@click.command()
@click.option("--rows", type=int, default=1_000_000, show_default=True)
@click.option("--pipeline", is_flag=True, help="Also time the ZenML pipeline from the command line.")
def main(rows: int, pipeline: bool) -> None:
    os.environ.update(QUIET_DEFAULTS)
    with tempfile.TemporaryDirectory(prefix="tasador-bench-scoring-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        register_model(tracking_uri, work / "artifacts", benchmark_config("serving", ServingBenchmark))
        listings = work / "listings.csv"
        write_listings(listings, rows)
        size_mib = listings.stat().st_size / 2**20
        click.echo(f"input: {rows:,} rows, {size_mib:,.0f} MiB CSV; {os.cpu_count()} cores; load {os.getloadavg()}")

        databases = {"SQLite": f"sqlite:///{work / 'tasador.db'}"}
        try:
            admin = os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
            databases["PostgreSQL"] = stack.enter_context(scratch_postgres(admin, "tasador_bench_scoring", 3))
        except Exception as exc:
            click.echo(f"PostgreSQL skipped ({type(exc).__name__})")
        for label, url in databases.items():
            settings = Settings(home=work / "home", mlflow_tracking_uri=tracking_uri, db_url=url)
            wall, used, scored = score(settings, listings)
            click.echo(
                f"| {label} | {scored:,} | {wall:.2f} s | {used:.2f} s | {scored / wall:,.0f} rows/s | "
                f"{scored / used:,.0f} rows/CPU-s |"
            )
        if pipeline:
            env = os.environ | {
                "ZENML_CONFIG_PATH": str(work / "zenml"),
                "TASADOR_HOME": str(work / "home"),
                "MLFLOW_TRACKING_URI": tracking_uri,
                "TASADOR_DB_URL": databases["SQLite"],
            }
            subprocess.run(
                [sys.executable, "run.py", "stack", "apply", "stacks/local.yaml", "--activate"],
                cwd=REPO_ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            command = [sys.executable, "run.py", "--pipeline", "batch-inference", "--input", str(listings)]
            wall, used, _ = run_timed(command, env, REPO_ROOT)
            click.echo(
                f"| pipeline (CLI, SQLite) | {rows:,} | {wall:.2f} s | {used:.2f} s | {rows / wall:,.0f} rows/s |"
            )


if __name__ == "__main__":
    main()
