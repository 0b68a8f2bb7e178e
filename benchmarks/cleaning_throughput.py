"""Rows per second of `normalise` and of RAW -> CLEAN (`clean_batch`) on the real sample, scaled up.

    python benchmarks/cleaning_throughput.py --rows 100000 [--database-url postgresql+psycopg://...]

The 10,000-row sample is repeated with the price nudged per copy, so every row stays distinct (no row
is quarantined as a duplicate that would not be in a real feed). Without --database-url, RAW/CLEAN is
a SQLite file in a temporary folder. Prints wall-clock and CPU seconds (CPU time is the fairer figure on
a shared machine).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from tasador.cleaning import clean_batch, normalise
from tasador.datasource.batch import Batch
from tasador.settings import load_config
from tasador.store import Store

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared/data/realtor-data.csv"


def sample_rows(count: int) -> list[dict]:
    frame = pd.read_csv(SAMPLE)
    copies = []
    for copy in range(-(-count // len(frame))):
        nudged = frame.copy()
        nudged["price"] = nudged["price"] + copy
        copies.append(nudged)
    rows = pd.concat(copies, ignore_index=True).head(count)
    return json.loads(rows.to_json(orient="records"))  # NaN -> None, as a JSON feed sends it


def timed(label: str, rows: int, work) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {rows} rows, {wall:.2f} s wall ({rows / wall:,.0f}/s), {cpu:.2f} s CPU ({rows / cpu:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="RAW/CLEAN database; a temporary SQLite file when left out")
    args = parser.parse_args()
    if not SAMPLE.exists():
        raise SystemExit(f"{SAMPLE} is missing; put the real sample under ../shared/data next to the repository.")
    config = load_config("cleaning")
    rows = sample_rows(args.rows)
    raw = list(enumerate(rows, start=1))
    timed("normalise", len(raw), lambda: normalise(raw, config))

    with tempfile.TemporaryDirectory() as folder:
        store = Store(args.database_url or f"sqlite:///{folder}/bench.db")
        batch = Batch(source=f"bench:{time.time_ns()}", group_number=1, batch_number=1, rows=rows)
        timed("ingest_raw", len(rows), lambda: store.ingest_raw(batch))
        batch_id = store.ingest_raw(batch).batch_id
        timed(f"clean_batch ({store.engine.dialect.name})", len(rows), lambda: clean_batch(store, batch_id, config))
        store.dispose()


if __name__ == "__main__":
    main()
