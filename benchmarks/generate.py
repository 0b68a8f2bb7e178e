"""How fast the synthetic generator makes listings: rows per second for a batch of the full dataset's size.

    python -m benchmarks.generate [--rows 2226382] [--scenario demo]

Prints the figures; the batch streams chunk by chunk (generator.chunk_rows), so memory stays bounded.
"""

from __future__ import annotations

import resource
import time

import click

from tasador.data_api.generator import generator_from_config
from tasador.settings import Settings

FULL_DATASET_ROWS = 2_226_382  # rows of the 2024 public dataset the sample was drawn from


@click.command()
@click.option("--rows", type=int, default=FULL_DATASET_ROWS, show_default=True)
@click.option("--scenario", default="demo", show_default=True)
@click.option("--batch", "batch_number", type=int, default=20, show_default=True, help="A drifted batch of demo.")
def main(rows: int, scenario: str, batch_number: int) -> None:
    started = time.perf_counter()
    generator = generator_from_config(Settings().configs.datasource, scenario=scenario)
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    made = sum(len(chunk) for chunk in generator.iter_batch(1, batch_number, rows))
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    click.echo(f"setup (calibration + world): {setup_s:.2f} s")
    click.echo(
        f"generated {made:,} rows in {elapsed:.1f} s: {made / elapsed:,.0f} rows/s "
        f"(chunks of {generator.chunk_rows:,}); peak RSS {peak_mib:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
