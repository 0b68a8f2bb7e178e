"""A minute of load on the price service over loopback, with hey (Debian package `hey`).

    python -m benchmarks.load [--write]     (numbers: configs/benchmarks/load.yaml)

`bentoml serve` (configs/serving.yaml as is) logs to a fresh PostgreSQL database on 127.0.0.1:5432. hey
first finds the service's maximum throughput (closed loop), then holds a fraction of it for the run; every
row the service answered must then reach the inference log. Prints the "## Load" section of BENCHMARKS.md;
--write replaces that section there. The run itself is tests/support/load.py, which
tests/integration/test_load.py asserts on (0 errors, 0 lost rows).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import tempfile
import textwrap
from pathlib import Path

from benchmarks.harness import arguments, markdown_table, write_section
from tasador.settings import Settings
from tests.support.load import LoadResult, load_load_config, service_for_load, sustained_load

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
SECTION = "## Load"


# --- the report -----------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return f"{value:.0f}" if value else "n/a"


def markdown(result: LoadResult, command: str) -> str:
    run, probe = result.run, result.probe
    workers = Settings().configs.serving.service["workers"]
    cpu_per_request = result.service_cpu_s / run.ok * 1000 if run.ok else float("nan")
    errors = ", ".join(f"{n}× {message}" for message, n in run.errors.items()) or "none"
    non_2xx = {code: n for code, n in run.status_codes.items() if not 200 <= code < 300}
    intro = (
        f"`{command}` — hey against `POST /predict` (1 listing) of `bentoml serve` ({workers} workers, "
        "configs/serving.yaml), the small test model of `tests/support/service.py`, inference log "
        "on PostgreSQL 127.0.0.1:5432; numbers in `configs/benchmarks/load.yaml`. "
        f"Taken {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, shared), load average "
        f"{result.load_before[0]:.1f} before / {result.load_after[0]:.1f} after the run."
    )
    rows = [
        [f"maximum throughput (closed loop, {probe.requests} requests, {probe.failed} failed)",
         f"{result.max_rps:.1f} req/s"],
        ["rate held (fraction of the maximum)",
         f"{result.rate:.1f} req/s for {result.duration_s} s, {result.connections} connections"],
        ["achieved", f"{run.rps:.1f} req/s, {run.requests} requests"],
        ["latency p50 / p99", f"{_ms(run.p50_ms)} / {_ms(run.p99_ms)} ms"],
        [f"errors (non-2xx {sum(non_2xx.values())}, no answer {sum(run.errors.values())})", f"{run.failed} ({errors})"],
        ["rows served / logged / lost (probe + run)",
         f"{result.rows_served} / {result.rows_logged} / {result.lost_rows}"],
        ["service CPU during the run", f"{result.service_cpu_s:.1f} s ({cpu_per_request:.1f} ms per request)"],
    ]  # fmt: skip
    intro = textwrap.fill(intro, width=115, break_on_hyphens=False, break_long_words=False)
    return "\n".join([SECTION, intro, "", markdown_table(["what", "figure"], rows)])


def main() -> None:
    from tasador.env import QUIET_DEFAULTS
    from tests.support.postgres import create_postgres_database, drop_database
    from tests.support.service import LISTING

    parser = arguments(__doc__, write="replace the Load section of BENCHMARKS.md")
    args = parser.parse_args()
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    config = load_load_config()
    database_url = create_postgres_database("tasador_load")
    try:
        with tempfile.TemporaryDirectory(prefix="tasador-load-") as tmp, service_for_load(Path(tmp), database_url) as t:
            print(f"service up at {t.url}; probing, then {config.run.duration_s} s of load ...", flush=True)
            result = sustained_load(t, config, LISTING, Path(tmp))
    finally:
        drop_database(database_url)
    section = markdown(result, "python -m benchmarks.load --write")
    print(section)
    if args.write:
        write_section(section, SECTION, BENCHMARKS_MD)
        print(f"written to {BENCHMARKS_MD}")


if __name__ == "__main__":
    main()
