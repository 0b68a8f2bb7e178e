"""Serving benchmark on loopback: tasador's service vs `mlflow models serve` vs a minimal BentoML service
over the same model vs in-process predict. Prints a Markdown section for BENCHMARKS.md.

    python -m benchmarks.serving [--batch-only]   (numbers: configs/benchmarks/serving.yaml)

--batch-only measures the 1,000-row batch alone, on tasador's service and the minimal BentoML service
(no fixed rates, no throughput, no mlflow models serve): the part of the run that fits a busy machine.

One model is trained and registered once; each service is started over it in turn (2 workers each, as
configured) and measured alone. The load comes from compiled tools so that the client is not what is
measured: single-row latency at fixed rates from hey (Debian `hey`: `-q` per worker, per-request times
from its CSV output; one process per connection, started so that requests arrive evenly spaced, see
`hey_even`), maximum throughput from wrk (distinct one-listing bodies in turn), the 1,000-row batch from hey
with one connection.
Without them a Python client stands in (and the output says so). The load generator shares the
machine's cores with the services: on 2 cores it takes a fair part of them.

tasador's service runs as in production: validation, the inference log (PostgreSQL on 127.0.0.1:5432
when it answers, else SQLite) and metrics all on; the rows it logged are counted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

from benchmarks.harness import (
    Latencies,
    arguments,
    free_port,
    hey_even,
    hey_run,
    markdown_table,
    scratch_postgres,
    spawn,
    stop,
)
from tasador.env import QUIET_DEFAULTS
from tasador.settings import Settings
from tests.support.benchmark_configs import ServingBenchmark, benchmark_config
from tests.support.load import logged_rows, tree_cpu_s
from tests.support.service import isolated_environment

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Where a scratch PostgreSQL database for the inference log is created (and dropped) when it answers.
POSTGRES_ENV = "TASADOR_BENCH_POSTGRES"
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

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

    from tasador.data_api.generator import generator_from_config
    from tasador.serving.columns import listings_columns
    from tasador.serving.schemas import Listing

    raw = generator_from_config(Settings().configs.datasource).batch(1, 1, rows)
    listings, prices = [], []
    for record in raw.to_dict(orient="records"):
        price = record.pop("price")
        try:
            listings.append(Listing.model_validate({k: _plain(v) for k, v in record.items()}))
        except ValidationError:
            continue  # rows the service would refuse are not in its traffic either
        prices.append(price)
    return pd.DataFrame(listings_columns(listings)).assign(price=np.asarray(prices, dtype=float))


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else value


def register_model(tracking_uri: str, artifacts: Path, config: ServingBenchmark) -> tuple[str, pd.DataFrame, str]:
    """Train with tasador's own training (configs/model.yaml; search shortened if configured), register, alias
    `production`."""
    import mlflow

    from tasador.model.pyfunc import log_model
    from tasador.model.train import train_challenger
    from tasador.schema import FEATURE_COLUMNS

    frame = clean_listings(config.train_rows)
    frame = frame[frame["price"].between(1_000, 20_000_000)].reset_index(drop=True)
    model_config = Settings().configs.model.model_copy(deep=True)
    if config.search_trials is not None:
        model_config.search.n_trials = config.search_trials
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    # Artifacts in the scratch folder: MLflow's default (./mlruns) would write into the repository.
    experiment = mlflow.create_experiment("serving-benchmark", artifact_location=artifacts.as_uri())
    result = train_challenger(frame, model_config, seed=model_config.seed)
    with mlflow.start_run(experiment_id=experiment):
        uri = log_model(result.predictor, input_example=frame[list(FEATURE_COLUMNS)].head(3))
    version = mlflow.register_model(uri, "tasador-price").version
    mlflow.MlflowClient().set_registered_model_alias("tasador-price", "production", version)
    booster = result.predictor.booster
    described = (
        f"{booster.num_boosted_rounds()} trees of depth ≤ {result.params.get('max_depth', '?')}, "
        f"trained on {len(frame):,} rows"
    )
    print(f"model: {described}, {result.params}", flush=True)
    return str(version), frame, described


def request_rows(frame: pd.DataFrame, count: int) -> list[dict[str, Any]]:
    rows = json.loads(frame.drop(columns="price").head(count).to_json(orient="records", date_format="iso"))
    for row in rows:
        if row.get("prev_sold_date"):
            row["prev_sold_date"] = row["prev_sold_date"][:10]
    return rows


# --- processes ------------------------------------------------------------------------------------
@contextmanager
def inference_log_database(work: Path) -> Iterator[str]:
    """A scratch PostgreSQL database (dropped afterwards) when one answers, else a SQLite file."""
    admin_url = os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_postgres(admin_url, "tasador_bench_serving", connect_timeout_s=3))
        except Exception as exc:  # no PostgreSQL here: the service's default store
            print(f"PostgreSQL at {admin_url} unavailable ({type(exc).__name__}); inference log on SQLite", flush=True)
            url = f"sqlite:///{work / 'inference.db'}"
        yield url


# --- load generators ------------------------------------------------------------------------------
async def open_loop(url: str, bodies: list[bytes], rate: float, duration: float) -> Latencies:
    """Fallback without hey: send at a fixed rate; latency from the scheduled send time."""
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
                return
            latencies.append(time.perf_counter() - scheduled)

        start = time.perf_counter() + 0.2
        total = int(rate * duration)
        await asyncio.gather(*(one(bodies[i % len(bodies)], start + i / rate) for i in range(total)))
    return Latencies(latencies, errors, total / duration)


def wrk_throughput(url: str, bodies: list[str], connections: int, duration: int, workdir: Path) -> tuple[float, int]:
    """(requests/s, requests answered) from wrk, POSTing `bodies` in turn over `connections` connections."""
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"local bodies = {{{', '.join(json.dumps(body) for body in bodies)}}}\n"
        "local sent = 0\n"
        "request = function()\n  sent = sent % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[sent])\nend\n"
    )
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rate, answered, failed = None, 0, 0
    for line in result.stdout.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            rate = float(words[1])
        elif "requests in" in line:
            answered = int(words[0])
        elif "Non-2xx" in line:
            failed = int(words[-1])
            print(f"  wrk against {url}: {line.strip()}", flush=True)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{result.stdout}")
    return rate, answered - failed


async def closed_loop_throughput(url: str, body: bytes, connections: int, duration: float) -> tuple[float, int]:
    done = 0
    deadline = time.perf_counter() + duration
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                answer = await client.post(url, content=body, headers={"content-type": "application/json"})
                done += answer.status_code == 200

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done / duration, done


def batch_latency(url: str, body: bytes, requests: int) -> Latencies:
    times = []
    with httpx.Client(timeout=60) as client:
        for _ in range(requests):
            start = time.perf_counter()
            client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()
            times.append(time.perf_counter() - start)
    return Latencies(times, 0, float("nan"))


# --- the run --------------------------------------------------------------------------------------
def warm_up(url: str, body: Path, requests: int) -> None:
    for _ in range(requests):
        httpx.post(url, content=body.read_bytes(), headers={"content-type": "application/json"}, timeout=60)
    time.sleep(2)  # the inference log writes what they left (every 0.5 s)


def measure(
    target: Target,
    pid: int,
    rows: list[dict[str, Any]],
    config: ServingBenchmark,
    workdir: Path,
    batch_only: bool = False,
) -> dict[str, Any]:
    """Fixed rates, then maximum throughput (with the service's CPU per request), then the batch."""
    single = workdir / "single.json"
    single.write_text(json.dumps(target.body(rows[:1])))
    batch = workdir / "batch.json"
    batch.write_text(json.dumps(target.body(rows[: config.batch_rows])))
    compiled = bool(shutil.which("hey") and shutil.which("wrk"))
    result: dict[str, Any] = {"name": target.name, "answered": 0, "load": os.getloadavg()[0], "compiled": compiled}
    if batch_only:
        warm_up(target.url, batch, 4)
        result["batch"] = _batch_run(target.url, batch, config, compiled)
        return result
    # Warm-up: first requests import and compile lazily in every worker. The batch is warmed up just before
    # its own run: the inference log's writing of 4,000 rows would otherwise fall into the first fixed rate.
    warm_up(target.url, single, 4)
    result["answered"] += 4
    for rate in config.rates_rps:
        if compiled:
            fixed_rate = hey_even if config.rate_spacing == "even" else hey_run
            run = fixed_rate(target.url, single, connections=config.rate_connections,
                             duration_s=config.rate_duration_s, rate=rate)  # fmt: skip
        else:
            singles = [json.dumps(target.body([row])).encode() for row in rows[:500]]
            run = asyncio.run(open_loop(target.url, singles, rate, config.rate_duration_s))
        result[f"rate@{rate}"] = run
        result["answered"] += len(run.seconds)
    cpu_before, wall_before = tree_cpu_s(pid), time.perf_counter()
    if compiled:  # distinct listings, as traffic sends them: nothing the service keeps can answer for it
        singles = [json.dumps(target.body([row])) for row in rows]
        rps, answered = wrk_throughput(
            target.url, singles, config.throughput_connections, config.throughput_duration_s, workdir
        )
    else:
        rps, answered = asyncio.run(
            closed_loop_throughput(
                target.url, single.read_bytes(), config.throughput_connections, config.throughput_duration_s
            )
        )
    result["max_rps"], result["throughput_answered"] = rps, answered
    result["cpu_ms_per_request"] = (tree_cpu_s(pid) - cpu_before) / max(answered, 1) * 1000
    result["throughput_wall_s"] = time.perf_counter() - wall_before
    result["answered"] += answered
    warm_up(target.url, batch, 4)
    result["answered"] += 4 * config.batch_rows
    result["batch"] = _batch_run(target.url, batch, config, compiled)
    result["answered"] += len(result["batch"].seconds) * config.batch_rows
    return result


def _batch_run(url: str, batch: Path, config: ServingBenchmark, compiled: bool) -> Latencies:
    if compiled:
        return hey_run(url, batch, connections=1, requests=config.batch_requests)
    return batch_latency(url, batch.read_bytes(), config.batch_requests)


def batch_markdown(results: list[dict[str, Any]], inproc: dict[str, tuple[float, float]], config: ServingBenchmark,
                   workers: int, model: str) -> str:  # fmt: skip
    """The --batch-only run: the 1,000-row batch on tasador's service and the minimal BentoML service."""
    lines = [
        f"### {config.batch_rows}-row batch only ({platform.node()}, {os.cpu_count()} cores, {workers} workers each)",
        "",
        f"| target | {config.batch_rows}-row p50 / p99 (ms) | load avg |",
        "|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['batch'].pct(50):.1f} / {r['batch'].pct(99):.1f} | {r['load']:.1f} |")
    ours, minimal = results
    lines += [
        "",
        f"Model: {model}. In-process (validation + encoding + prediction, median wall / CPU): "
        + ", ".join(f"{k}: {wall:.2f} / {cpu:.2f} ms" for k, (wall, cpu) in inproc.items()),
        "",
        f"Goals: {config.batch_rows}-row batch ≤ 50 ms p50: {ours['batch'].pct(50):.1f} ms; no slower than the minimal "
        f"BentoML service: {ours['batch'].pct(50):.1f} vs {minimal['batch'].pct(50):.1f} ms p50",
    ]
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> str:
    """One line per target while the run goes on."""
    rates = [f"@{k[5:]}: p50 {v.pct(50):.1f} p99 {v.pct(99):.1f} ms ({v.achieved_rps:.0f}/s sent, {v.errors} errors)"
             for k, v in result.items() if k.startswith("rate@")]  # fmt: skip
    return (
        f"{result['name']}: {'; '.join(rates)}; max {result['max_rps']:.0f} rps "
        f"({result['cpu_ms_per_request']:.2f} ms server CPU per request); batch p50 {result['batch'].pct(50):.1f} "
        f"p99 {result['batch'].pct(99):.1f} ms; load average {result['load']:.1f}"
    )


def in_process(model_uri: str, rows: list[dict[str, Any]], config: ServingBenchmark) -> dict[str, tuple[float, float]]:
    """The service's own path without HTTP (validation, encoding, prediction): median wall and CPU ms."""
    from tasador.model.pyfunc import load_predictor
    from tasador.serving.columns import listings_columns
    from tasador.serving.schemas import batch_model

    predictor = load_predictor(model_uri)
    predictor.booster.set_param({"nthread": 1})  # as the service runs it (tasador/serving/model_watcher.py)
    request = batch_model("PredictRequest", config.batch_rows)
    out = {}
    for label, count in (("1 row", 1), (f"{config.batch_rows} rows", config.batch_rows)):
        body = json.dumps({"listings": rows[:count]})
        walls, cpus = [], []
        for _ in range(config.in_process_repeats if count == 1 else max(5, config.in_process_repeats // 10)):
            wall, cpu = time.perf_counter(), time.process_time()
            listings = request.model_validate_json(body).listings
            predictor.predict(listings_columns(listings))
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        out[label] = (statistics.median(walls) * 1000, statistics.median(cpus) * 1000)
    return out


def markdown(
    results: list[dict[str, Any]],
    inproc: dict[str, tuple[float, float]],
    config: ServingBenchmark,
    workers: int,
    model: str,
    logged: tuple[int, int, str],
) -> str:
    rates = config.rates_rps
    head = [
        "target",
        *[f"p50 / p99 @{r} rps (ms; rate sent)" for r in rates],
        "max rps (1 row)",
        "server CPU ms / request",
        f"{config.batch_rows}-row p50 / p99 (ms)",
        "load avg",
    ]
    lines = [
        f"## Serving ({platform.node()}, {os.cpu_count()} cores, {workers} workers each, loopback)",
        "",
    ]
    rows = []
    for r in results:
        cells = [r["name"]]
        for rate in rates:
            run: Latencies = r[f"rate@{rate}"]
            errors = f", {run.errors} errors" if run.errors else ""
            cells.append(f"{run.pct(50):.1f} / {run.pct(99):.1f} ({run.achieved_rps:.0f}/s{errors})")
        batch: Latencies = r["batch"]
        cells += [f"{r['max_rps']:.0f}", f"{r['cpu_ms_per_request']:.2f}", f"{batch.pct(50):.1f} / {batch.pct(99):.1f}",
                  f"{r['load']:.1f}"]  # fmt: skip
        rows.append(cells)
    lines.append(markdown_table(head, rows))
    served, written, database = logged
    tools = "hey (fixed rates, batch) and wrk (throughput)" if results[0]["compiled"] else "a Python client"
    lines += [
        "",
        f"Model: {model}. Load from {tools}, {config.rate_connections} connections at fixed rates "
        f"({'evenly spaced' if config.rate_spacing == 'even' else 'in bursts of one request per connection'}), "
        f"{config.throughput_connections} for throughput. tasador's inference log ({database}): "
        f"{written} rows written for {served} listings answered.",
        "In-process (validation + encoding + prediction, median wall / CPU): "
        + ", ".join(f"{k}: {wall:.2f} / {cpu:.2f} ms" for k, (wall, cpu) in inproc.items()),
    ]
    ours, mlflow_row, minimal = results[0], results[1], results[2]
    top = max(rates)
    lines += [
        "",
        "Goals:",
        f"- single-row throughput ≥ 5× mlflow models serve: {ours['max_rps'] / mlflow_row['max_rps']:.1f}×",
        f"- above the minimal BentoML service: {ours['max_rps']:.0f} vs {minimal['max_rps']:.0f} rps",
        f"- p99 ≤ 15 ms at {top} rps: {ours[f'rate@{top}'].pct(99):.1f} ms",
        f"- {config.batch_rows}-row batch ≤ 50 ms: p50 {ours['batch'].pct(50):.1f} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--batch-only", action="store_true", help="the 1,000-row batch alone (see the docstring)")
    args = parser.parse_args()
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    serving = Settings().configs.serving
    config = benchmark_config("serving", ServingBenchmark)
    workers = int(serving.service.get("workers", 1))
    load_start, cpu_start, wall_start = os.getloadavg(), time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tasador-bench-") as tmp, inference_log_database(Path(tmp)) as db_url:
        work = Path(tmp)
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        print("training and registering the benchmark model ...", flush=True)
        version, frame, model = register_model(tracking_uri, work / "artifacts", config)
        model_uri = f"models:/tasador-price/{version}"
        rows = request_rows(frame, max(config.batch_rows, 500))
        base_env = {
            **isolated_environment(work, tracking_uri, db_url),
            "BENCH_MODEL_URI": model_uri,
            "BENCH_WORKERS": str(workers),
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
        if args.batch_only:
            plans = [plans[0], plans[2]]
        results = []
        for target, command, cwd, probe in plans:
            print(f"measuring {target.name} (load average {os.getloadavg()[0]:.1f}) ...", flush=True)
            proc = spawn(command, base_env, work / f"{len(results)}.log", cwd, probe)
            try:
                results.append(measure(target, proc.pid, rows, config, work, args.batch_only))
            finally:
                stop(proc)  # tasador's service flushes its inference log on the way out
            if not args.batch_only:
                print(f"  {summary(results[-1])}", flush=True)  # kept even if a later target fails
        logged = (results[0]["answered"], logged_rows(db_url), db_url.split(":", 1)[0].split("+", 1)[0])
        inproc = in_process(model_uri, rows, config)
    print()
    if args.batch_only:
        print(batch_markdown(results, inproc, config, workers, model))
    else:
        print(markdown(results, inproc, config, workers, model, logged))
    print(f"\n(config: {yaml.safe_dump(config.model_dump(), default_flow_style=True).strip()})")
    load_end = os.getloadavg()
    print(
        f"(this script: {time.perf_counter() - wall_start:.0f} s wall, {time.process_time() - cpu_start:.0f} s CPU; "
        f"load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    main()
