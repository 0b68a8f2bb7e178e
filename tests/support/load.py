"""Load on the price service over loopback with hey (Debian package `hey`): the sustained-load run that
tests/integration/test_load.py asserts on (0 errors, 0 lost rows) and benchmarks/load.py reports.

`bentoml serve` (configs/serving.yaml with the tests' short model watch) serves the small test model of
tests/support/service.py. hey first finds the service's maximum throughput (closed loop), then holds a
fraction of it (configs/benchmarks/load.yaml); every row the service answered must then reach the inference log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.benchmark_configs import LoadConfig, benchmark_config
from tests.support.service import (
    metric,
    register_version,
    serving_config,
    set_production,
    start_service,
    synthetic_listings,
    train_predictor,
)
from tests.support.waiting import wait_until


def load_load_config() -> LoadConfig:
    return benchmark_config("load", LoadConfig)


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
    """The inference log's row count once it reaches `expected`, or after `timeout_s` (lost rows are counted)."""
    with suppress(AssertionError):
        wait_until(lambda: logged_rows(database_url) >= expected, timeout_s, "the inference log", every_s=0.5)
    return logged_rows(database_url)


def logged_rows(database_url: str) -> int:
    """Rows in the service's inference log; 0 before the table exists (it appears with the first write)."""
    from sqlalchemy import create_engine, func, select

    from tasador.store import tables as t

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.inference_log)).scalar_one())
    except Exception:
        return 0
    finally:
        engine.dispose()


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (a service's workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


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
    tracking_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    frame = synthetic_listings()
    set_production(tracking_uri, register_version(tracking_uri, train_predictor(frame), frame, {}))
    # The repository's serving config, with the tests' short model-watch interval only.
    service = start_service(workdir / "service", tracking_uri, database_url, serving_config(workdir / "s.yaml"))
    try:
        wait_until(lambda: metric(service.url, "tasador_model_ready") == 1, timeout=120, what="a model in every worker")
        yield LoadTarget(service.url, database_url, service.proc.pid)
    finally:
        service.stop()
