"""Reading a /predict request's listings in process (the body's validation): distinct listings, as traffic sends them.

    python -m benchmarks.request_reading [--write] [--sample PATH]

Listings are rows of the real sample (`../shared/data/realtor-data.csv`, or $TASADOR_SAMPLE_CSV), ids and zip
codes as text, as a JSON client sends them. Each request holds listings the process has not read before, except
the last row, which repeats one listing (what a benchmark sending one body again and again measures).
"""

from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import arguments, markdown_table, write_section
from tasador.schema import FEATURE_COLUMNS
from tasador.serving.schemas import batch_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("TASADOR_SAMPLE_CSV") or ROOT.parent / "shared" / "data" / "realtor-data.csv")
TEXT_FIELDS = ("brokered_by", "street", "zip_code")


def listings(sample: Path, rows: int) -> list[dict[str, Any]]:
    frame = pd.read_csv(sample, dtype={"prev_sold_date": str}, nrows=rows)
    found = []
    for record in frame.to_dict("records"):
        listing = {
            c: None if isinstance(record[c], float) and math.isnan(record[c]) else record[c] for c in FEATURE_COLUMNS
        }
        found.append({c: str(v) if c in TEXT_FIELDS and v is not None else v for c, v in listing.items()})
    return found


def main() -> None:
    parser = arguments(__doc__, write="put the table into BENCHMARKS.md")
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    args = parser.parse_args()
    rows = listings(args.sample, 5_400)
    body = batch_model("Request", 1000)

    def ms_per_request(requests: list[list[dict[str, Any]]]) -> float:
        started = time.perf_counter()
        for request in requests:
            body.model_validate({"listings": request})
        return (time.perf_counter() - started) / len(requests) * 1000

    table = markdown_table(
        ["request", "requests", "ms per request (mean)"],
        [
            [
                "1,000 distinct listings",
                3,
                f"{ms_per_request([rows[i * 1000 : (i + 1) * 1000] for i in range(3)]):.1f}",
            ],
            ["1 listing, new each time", 200, f"{ms_per_request([[row] for row in rows[3000:3200]]):.2f}"],
            ["1 listing, the same each time", 200, f"{ms_per_request([[rows[0]]] * 200):.3f}"],
        ],
    )
    load = os.getloadavg()[0]
    text = (
        "### Reading a request's listings (issue 17)\n"
        f"`python -m benchmarks.request_reading --write`, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()} "
        f"({os.cpu_count()} cores), load average {load:.1f}; the real sample's first rows, one process.\n\n{table}\n"
    )
    print(text)
    if args.write:
        write_section(text, "### Reading a request's listings", ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
