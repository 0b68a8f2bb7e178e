"""A minute of load on the price service over loopback, with hey (Debian package `hey`).

    python -m benchmarks.load [--write]     (numbers: configs/load.yaml)

`bentoml serve` (configs/serving.yaml as is) logs to a fresh PostgreSQL database on 127.0.0.1:5432. hey
first finds the service's maximum throughput (closed loop), then holds a fraction of it for the run; every
row the service answered must then reach the inference log. Prints the "## Load" section of BENCHMARKS.md;
--write replaces that section there. tests/integration/test_load.py runs the same and asserts 0 errors and
0 lost rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt

from benchmarks.harness import logged_rows, tree_cpu_s, write_section
from tasador.settings import load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
SECTION = "## Load"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeConfig(_Section):
    duration_s: PositiveInt
    connections: PositiveInt


class RunConfig(_Section):
    duration_s: PositiveInt
    rate_fraction: PositiveFloat
    connections: PositiveInt
    request_timeout_s: PositiveInt


class LoadConfig(_Section):
    probe: ProbeConfig
    run: RunConfig
    listings_per_request: PositiveInt
    flush_timeout_s: PositiveFloat


def load_load_config() -> LoadConfig:
    return LoadConfig.model_validate(load_config("load"))


# --- hey ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeyReport:
    """hey's summary: throughput, latency percentiles, answers by status and transport errors."""

    rps: float
    p50_ms: float | None
    p99_ms: float | None
    status_codes: dict[int, int]
    errors: dict[str, int]

    @property
    def ok(self) -> int:
        return sum(count for code, count in self.status_codes.items() if 200 <= code < 300)

    @property
    def failed(self) -> int:
        """Answers other than 2xx, plus requests that got no answer (refused, reset, timed out)."""
        return sum(self.status_codes.values()) - self.ok + sum(self.errors.values())

    @property
    def requests(self) -> int:
        return sum(self.status_codes.values()) + sum(self.errors.values())


def parse_hey(summary: str) -> HeyReport:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", summary)
    if rps is None:
        raise ValueError(f"hey printed no summary:\n{summary[-2000:]}")
    percentiles = {int(p): float(s) * 1000 for p, s in re.findall(r"^\s+(\d+)% in ([\d.]+) secs", summary, re.M)}
    codes = {int(c): int(n) for c, n in re.findall(r"^\s+\[(\d{3})\]\s+(\d+) responses", summary, re.M)}
    errors: dict[str, int] = {}
    if "Error distribution:" in summary:
        for count, message in re.findall(r"^\s+\[(\d+)\]\s+(.+)$", summary.split("Error distribution:", 1)[1], re.M):
            errors[message.strip()] = errors.get(message.strip(), 0) + int(count)
    # hey prints "0% in 0.0000" for a percentile it has too few answers to tell.
    return HeyReport(float(rps.group(1)), percentiles.get(50), percentiles.get(99), codes, errors)


def hey_binary() -> str | None:
    return shutil.which("hey")


def hey(
    url: str, body: Path, duration_s: int, connections: int, timeout_s: int, rate: float | None = None
) -> HeyReport:
    """POST `body` to `url` from `connections` workers for `duration_s`; `rate` in requests/s for all of them."""
    binary = hey_binary()
    if binary is None:
        raise RuntimeError("hey is not installed (Debian: apt-get install hey; scripts/system-deps.sh does it)")
    command = [binary, "-z", f"{duration_s}s", "-c", str(connections), "-t", str(timeout_s),
               "-m", "POST", "-T", "application/json", "-D", str(body)]  # fmt: skip
    if rate is not None:
        command += ["-q", f"{rate / connections:.4f}"]  # hey's -q is per worker
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration_s + timeout_s + 60)
    if result.returncode != 0:
        raise RuntimeError(f"hey failed ({result.returncode}): {result.stderr[-2000:]}")
    return parse_hey(result.stdout)


# --- the service under load -----------------------------------------------------------------------
@dataclass
class LoadTarget:
    url: str
    database_url: str
    pid: int  # the `bentoml serve` process: its tree's CPU time is the cost of the load


@dataclass(frozen=True)
class LoadResult:
    max_rps: float
    rate: float
    duration_s: int
    connections: int
    probe: HeyReport
    run: HeyReport
    rows_served: int
    rows_logged: int
    service_cpu_s: float  # CPU seconds of the service's processes during the run
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @property
    def lost_rows(self) -> int:
        return self.rows_served - self.rows_logged


def _wait_for_rows(database_url: str, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    count = logged_rows(database_url)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        count = logged_rows(database_url)
    return count


def sustained_load(target: LoadTarget, config: LoadConfig, listing: dict[str, Any], workdir: Path) -> LoadResult:
    """Probe the maximum throughput, then hold `rate_fraction` of it; count served and logged rows."""
    body = workdir / "predict.json"
    body.write_text(json.dumps({"listings": [listing] * config.listings_per_request}))
    url = target.url + "/predict"
    probe = hey(url, body, config.probe.duration_s, config.probe.connections, config.run.request_timeout_s)
    if probe.ok == 0:
        raise RuntimeError(f"the service answered no request while probed: {probe}")
    rate = probe.rps * config.run.rate_fraction
    load_before = os.getloadavg()
    cpu_before = tree_cpu_s(target.pid)
    run = hey(url, body, config.run.duration_s, config.run.connections, config.run.request_timeout_s, rate=rate)
    cpu_s = tree_cpu_s(target.pid) - cpu_before
    load_after = os.getloadavg()
    served = (probe.ok + run.ok) * config.listings_per_request
    logged = _wait_for_rows(target.database_url, served, config.flush_timeout_s)
    return LoadResult(
        max_rps=probe.rps,
        rate=rate,
        duration_s=config.run.duration_s,
        connections=config.run.connections,
        probe=probe,
        run=run,
        rows_served=served,
        rows_logged=logged,
        service_cpu_s=cpu_s,
        load_before=load_before,
        load_after=load_after,
    )


@contextmanager
def service_for_load(workdir: Path, database_url: str) -> Iterator[LoadTarget]:
    """A production model in a local MLflow store and `bentoml serve` over it, as the service tests start it."""
    from tests.support.service import (
        metric,
        register_version,
        set_production,
        start_service,
        synthetic_listings,
        train_predictor,
    )
    from tests.support.service import serving_config as test_serving_config
    from tests.support.waiting import wait_until

    tracking_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    frame = synthetic_listings()
    set_production(tracking_uri, register_version(tracking_uri, train_predictor(frame), frame, {}))
    # The repository's serving config, with the tests' short model-watch interval only.
    service = start_service(workdir / "service", tracking_uri, database_url, test_serving_config(workdir / "s.yaml"))
    try:
        wait_until(lambda: metric(service.url, "tasador_model_ready") == 1, timeout=120, what="a model in every worker")
        yield LoadTarget(service.url, database_url, service.proc.pid)
    finally:
        service.stop()


# --- the report -----------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return f"{value:.0f}" if value else "n/a"


def markdown(result: LoadResult, command: str) -> str:
    run, probe = result.run, result.probe
    workers = load_config("serving")["service"]["workers"]
    cpu_per_request = result.service_cpu_s / run.ok * 1000 if run.ok else float("nan")
    errors = ", ".join(f"{n}× {message}" for message, n in run.errors.items()) or "none"
    non_2xx = {code: n for code, n in run.status_codes.items() if not 200 <= code < 300}
    intro = (
        f"`{command}` — hey against `POST /predict` (1 listing) of `bentoml serve` ({workers} workers, "
        "configs/serving.yaml), the small test model of `tests/support/service.py`, inference log "
        "on PostgreSQL 127.0.0.1:5432; numbers in `configs/load.yaml`. "
        f"Taken {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, shared), load average "
        f"{result.load_before[0]:.1f} before / {result.load_after[0]:.1f} after the run."
    )
    return "\n".join(
        [
            SECTION,
            textwrap.fill(intro, width=115, break_on_hyphens=False, break_long_words=False),
            "",
            "| what | figure |",
            "|---|---|",
            f"| maximum throughput (closed loop, {probe.requests} requests, "
            f"{probe.failed} failed) | {result.max_rps:.1f} req/s |",
            f"| rate held (fraction of the maximum) | {result.rate:.1f} req/s for {result.duration_s} s, "
            f"{result.connections} connections |",
            f"| achieved | {run.rps:.1f} req/s, {run.requests} requests |",
            f"| latency p50 / p99 | {_ms(run.p50_ms)} / {_ms(run.p99_ms)} ms |",
            f"| errors (non-2xx {sum(non_2xx.values())}, no answer {sum(run.errors.values())}) | {run.failed} "
            f"({errors}) |",
            f"| rows served / logged / lost (probe + run) | {result.rows_served} / {result.rows_logged} / "
            f"{result.lost_rows} |",
            f"| service CPU during the run | {result.service_cpu_s:.1f} s ({cpu_per_request:.1f} ms per request) |",
        ]
    )


def main() -> None:
    from tasador.env import QUIET_DEFAULTS
    from tests.support.postgres import create_postgres_database, drop_database
    from tests.support.service import LISTING

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the Load section of BENCHMARKS.md")
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
