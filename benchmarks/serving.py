"""Serving benchmark on loopback: tasador's service vs `mlflow models serve` vs a minimal BentoML service
over the same model vs in-process predict. Prints a Markdown section for BENCHMARKS.md.

    python benchmarks/serving.py            (numbers: configs/serving.yaml, section `benchmark`)

Single-row latency at fixed rates comes from an open-loop asyncio client (latency counted from the
scheduled send time, so queueing shows); maximum throughput from wrk when installed (Debian `wrk`),
else from the same Python client with a fixed number of connections.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tasador.env import QUIET_DEFAULTS  # noqa: E402
from tasador.serving.config import BenchmarkConfig, load_serving_config  # noqa: E402
from tasador.settings import load_config  # noqa: E402

# The minimal BentoML service: the same predictor, no validation, no logging, no metrics of ours.
MINIMAL_SERVICE = """
import os

import bentoml
import pandas as pd

from tasador.model.pyfunc import load_predictor


@bentoml.service(workers=int(os.environ["BENCH_WORKERS"]))
class Minimal:
    def __init__(self) -> None:
        self.predictor = load_predictor(os.environ["BENCH_MODEL_URI"])

    @bentoml.api
    def predict(self, listings: list[dict]) -> list[float]:
        return self.predictor.predict(pd.DataFrame(listings)).tolist()
"""


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    body: Callable[[list[dict[str, Any]]], dict[str, Any]]


# --- the model ------------------------------------------------------------------------------------
def clean_listings(rows: int) -> pd.DataFrame:
    """Synthetic feed rows, cleaned the way the service cleans a request (validated Listing models)."""
    from pydantic import ValidationError

    from tasador.datasource.generator import generator_from_config
    from tasador.serving.frames import listings_frame
    from tasador.serving.schemas import Listing

    raw = generator_from_config(load_config("datasource")).batch(1, 1, rows)
    listings, prices = [], []
    for record in raw.to_dict(orient="records"):
        price = record.pop("price")
        try:
            listings.append(Listing.model_validate({k: _plain(v) for k, v in record.items()}))
        except ValidationError:
            continue  # rows the service would refuse are not in its traffic either
        prices.append(price)
    return listings_frame(listings).assign(price=np.asarray(prices, dtype=float))


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else value


def register_model(tracking_uri: str, config: BenchmarkConfig) -> tuple[str, pd.DataFrame]:
    import mlflow

    from tasador.model.pyfunc import log_model
    from tasador.model.train import train_challenger
    from tasador.schema import FEATURE_COLUMNS

    frame = clean_listings(config.train_rows)
    frame = frame[frame["price"].between(1_000, 20_000_000)].reset_index(drop=True)
    model_config = load_config("model")
    model_config["search"] = {**model_config["search"], "n_trials": config.search_trials}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    result = train_challenger(frame, model_config, seed=int(model_config["seed"]))
    with mlflow.start_run():
        uri = log_model(result.predictor, input_example=frame[list(FEATURE_COLUMNS)].head(3))
    version = mlflow.register_model(uri, "tasador-price").version
    mlflow.MlflowClient().set_registered_model_alias("tasador-price", "production", version)
    print(f"model: {result.params}", flush=True)
    return str(version), frame


def request_rows(frame: pd.DataFrame, count: int) -> list[dict[str, Any]]:
    rows = json.loads(frame.drop(columns="price").head(count).to_json(orient="records", date_format="iso"))
    for row in rows:
        if row.get("prev_sold_date"):
            row["prev_sold_date"] = row["prev_sold_date"][:10]
    return rows


# --- processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(command: list[str], env: dict[str, str], log: Path, cwd: Path, probe: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(probe, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"{command[:4]} did not become ready:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --- load -----------------------------------------------------------------------------------------
async def open_loop(url: str, bodies: list[bytes], rate: float, duration: float) -> tuple[list[float], int]:
    """Send at a fixed rate; latency from the scheduled send time. Returns (latencies in s, errors)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(body: bytes, scheduled: float) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                answer = await client.post(url, content=body, headers={"content-type": "application/json"})
            except httpx.TransportError:  # a reset connection is a failed request, not a crashed benchmark
                errors += 1
                return
            if answer.status_code != 200:
                errors += 1
            latencies.append(time.perf_counter() - scheduled)

        start = time.perf_counter() + 0.2
        total = int(rate * duration)
        await asyncio.gather(*(one(bodies[i % len(bodies)], start + i / rate) for i in range(total)))
    return latencies, errors


def wrk_throughput(url: str, body: bytes, connections: int, duration: int, workdir: Path) -> float:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
    )
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in result.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            non_2xx = [ln for ln in result.stdout.splitlines() if "Non-2xx" in ln]
            if non_2xx:
                print(f"  wrk against {url}: {non_2xx[0].strip()}")
            return float(line.split()[1])
    raise RuntimeError(f"wrk printed no rate:\n{result.stdout}")


async def closed_loop_throughput(url: str, body: bytes, connections: int, duration: float) -> float:
    done = 0
    deadline = time.perf_counter() + duration
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await client.post(url, content=body, headers={"content-type": "application/json"})
                done += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done / duration


def batch_latency(url: str, body: bytes, requests: int) -> list[float]:
    times = []
    with httpx.Client(timeout=60) as client:
        client.post(url, content=body, headers={"content-type": "application/json"})  # warm-up
        for _ in range(requests):
            start = time.perf_counter()
            answer = client.post(url, content=body, headers={"content-type": "application/json"})
            answer.raise_for_status()
            times.append(time.perf_counter() - start)
    return times


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


# --- the run --------------------------------------------------------------------------------------
def measure(target: Target, rows: list[dict[str, Any]], config: BenchmarkConfig, workdir: Path) -> dict[str, Any]:
    singles = [json.dumps(target.body([row])).encode() for row in rows[:500]]
    batch = json.dumps(target.body(rows[: config.batch_rows])).encode()
    result: dict[str, Any] = {"name": target.name}
    asyncio.run(open_loop(target.url, singles, 20, 2))  # warm-up
    for rate in config.rates_rps:
        latencies, errors = asyncio.run(open_loop(target.url, singles, rate, config.rate_duration_s))
        result[f"p50@{rate}"], result[f"p99@{rate}"] = pct(latencies, 50), pct(latencies, 99)
        result[f"errors@{rate}"] = errors
    if shutil.which("wrk"):
        result["max_rps"] = wrk_throughput(
            target.url, singles[0], config.throughput_connections, config.throughput_duration_s, workdir
        )
    else:
        result["max_rps"] = asyncio.run(
            closed_loop_throughput(target.url, singles[0], config.throughput_connections, config.throughput_duration_s)
        )
    times = batch_latency(target.url, batch, config.batch_requests)
    result["batch_p50"], result["batch_p99"] = pct(times, 50), pct(times, 99)
    return result


def in_process(model_uri: str, rows: list[dict[str, Any]], config: BenchmarkConfig) -> dict[str, float]:
    """Validation + frame + predict without HTTP: the floor the services add their overhead to."""
    from tasador.model.pyfunc import load_predictor
    from tasador.serving.frames import listings_frame
    from tasador.serving.schemas import batch_model

    predictor = load_predictor(model_uri)
    request = batch_model("PredictRequest", config.batch_rows)
    out = {}
    for label, count in (("1 row", 1), (f"{config.batch_rows} rows", config.batch_rows)):
        body = json.dumps({"listings": rows[:count]})
        times = []
        for _ in range(config.in_process_repeats if count == 1 else max(5, config.in_process_repeats // 10)):
            start = time.perf_counter()
            predictor.predict(listings_frame(request.model_validate_json(body).listings))
            times.append(time.perf_counter() - start)
        out[label] = statistics.median(times) * 1000
    return out


def markdown(results: list[dict[str, Any]], inproc: dict[str, float], config: BenchmarkConfig, workers: int) -> str:
    rates = config.rates_rps
    head = [
        "target",
        *[f"p50 / p99 @{r} rps (ms)" for r in rates],
        "max rps (1 row)",
        f"{config.batch_rows}-row p50 / p99 (ms)",
    ]
    lines = [
        f"## Serving ({platform.node()}, {os.cpu_count()} cores, {workers} workers each, loopback)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in results:
        cells = [r["name"]]
        for rate in rates:
            errors = f" ({r[f'errors@{rate}']} errors)" if r[f"errors@{rate}"] else ""
            cells.append(f"{r[f'p50@{rate}']:.1f} / {r[f'p99@{rate}']:.1f}{errors}")
        cells += [f"{r['max_rps']:.0f}", f"{r['batch_p50']:.1f} / {r['batch_p99']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "In-process (validation + encoding + inplace_predict, median): "
              + ", ".join(f"{k}: {v:.2f} ms" for k, v in inproc.items())]  # fmt: skip
    ours, mlflow_row, minimal = results[0], results[1], results[2]
    top = max(rates)
    lines += [
        "",
        "Goals:",
        f"- single-row throughput ≥ 5× mlflow models serve: {ours['max_rps'] / mlflow_row['max_rps']:.1f}×",
        f"- above the minimal BentoML service: {ours['max_rps']:.0f} vs {minimal['max_rps']:.0f} rps",
        f"- p99 ≤ 15 ms at {top} rps: {ours[f'p99@{top}']:.1f} ms",
        f"- {config.batch_rows}-row batch ≤ 50 ms: p50 {ours['batch_p50']:.1f} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    serving = load_serving_config()
    config = serving.benchmark
    if config is None:
        raise SystemExit("configs/serving.yaml has no `benchmark` section; add one (see the repository's copy).")
    workers = int(serving.service.get("workers", 1))
    with tempfile.TemporaryDirectory(prefix="tasador-bench-") as tmp:
        work = Path(tmp)
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        print("training and registering the benchmark model ...", flush=True)
        version, frame = register_model(tracking_uri, config)
        model_uri = f"models:/tasador-price/{version}"
        rows = request_rows(frame, max(config.batch_rows, 500))
        base_env = {
            **os.environ,
            "HOME": str(work),
            "BENTOML_HOME": str(work / "bentoml"),
            "TASADOR_HOME": str(work / "home"),
            "MLFLOW_TRACKING_URI": tracking_uri,
            "BENCH_MODEL_URI": model_uri,
            "BENCH_WORKERS": str(workers),
            "PYTHONPATH": str(REPO_ROOT),
            # `mlflow models serve` starts `uvicorn` by name: this interpreter's scripts must be on PATH.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        (work / "minimal_service.py").write_text(textwrap.dedent(MINIMAL_SERVICE))
        bentoml_cli = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1"]
        ports = [free_port() for _ in range(3)]
        plans = [
            (
                Target("tasador service", f"http://127.0.0.1:{ports[0]}/predict", lambda ls: {"listings": ls}),
                [*bentoml_cli, "bento.service:TasadorPrice", "--port", str(ports[0])],
                REPO_ROOT,
                f"http://127.0.0.1:{ports[0]}/ready",
            ),
            (
                Target("mlflow models serve", f"http://127.0.0.1:{ports[1]}/invocations",
                       lambda ls: {"dataframe_records": ls}),
                [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
                 "--host", "127.0.0.1", "-p", str(ports[1]), "-w", str(workers)],
                work,
                f"http://127.0.0.1:{ports[1]}/ping",
            ),
            (
                Target("minimal BentoML service", f"http://127.0.0.1:{ports[2]}/predict", lambda ls: {"listings": ls}),
                [*bentoml_cli, "minimal_service:Minimal", "--port", str(ports[2]), "--working-dir", str(work)],
                work,
                f"http://127.0.0.1:{ports[2]}/readyz",
            ),
        ]  # fmt: skip
        results = []
        for target, command, cwd, probe in plans:
            print(f"measuring {target.name} ...", flush=True)
            proc = spawn(command, base_env, work / f"{len(results)}.log", cwd, probe)
            try:
                results.append(measure(target, rows, config, work))
            finally:
                stop(proc)
            print(f"  {results[-1]}", flush=True)  # kept even if a later target fails
        inproc = in_process(model_uri, rows, config)
        print()
        print(markdown(results, inproc, config, workers))
        print(f"\n(config: {yaml.safe_dump(config.model_dump(), default_flow_style=True).strip()})")


if __name__ == "__main__":
    main()
