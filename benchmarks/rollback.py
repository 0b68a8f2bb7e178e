"""From `model rollback` to the first request served by the old version: on the registry's event, and by polling.

    python -m benchmarks.rollback [--trials 5]

A real MLflow server (webhooks on) and two `bentoml serve` services of configs/serving.yaml (2 workers):
one with the webhook registered as `stack apply` registers it and an hour-long poll, one without webhook
polling at the configured interval. Each trial rolls `production` back (tasador.registry.rollback.rollback, what
the command runs once its process is up), then sends requests to each service until one is answered by
the old version (first) and until 20 in a row are (every worker), then promotes the newer version again.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import httpx

from benchmarks.harness import free_port, spawn, stop
from benchmarks.serving import register_model, request_rows
from tasador.env import QUIET_DEFAULTS
from tasador.serving.registry_events import webhook_delivery_env
from tests.support.benchmark_configs import ServingBenchmark, benchmark_config
from tests.support.service import isolated_environment

REPO_ROOT = Path(__file__).resolve().parents[1]

NAME, ALIAS = "tasador-price", "production"
IN_A_ROW = 20


def serve(work: Path, name: str, tracking_uri: str, interval_s: float, extra: dict[str, str]) -> tuple[object, str]:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "configs" / "serving.yaml").read_text())
    config["model_watch"]["interval_s"] = interval_s
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = isolated_environment(work / name, tracking_uri, f"sqlite:///{work / name}.db") | extra
    env |= {"TASADOR_SERVING_CONFIG": str(path)}
    command = [sys.executable, "-m", "bentoml", "serve", "bento.service:TasadorPrice", "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    proc = spawn([*command, "--port", str(port)], env, work / f"{name}.log", REPO_ROOT, url + "/health")
    return proc, url


def until_served(url: str, version: str, body: dict, started: float, timeout_s: float = 120) -> tuple[float, float]:
    """(s to the first answer by `version`, s to IN_A_ROW answers in a row by it), from `started`."""
    first, streak = None, 0
    with httpx.Client(timeout=30) as client:
        while time.perf_counter() - started < timeout_s:
            served = client.post(url + "/predict", json=body).json()["model_version"]
            if served == version:
                first = first or time.perf_counter() - started
                streak += 1
                if streak == IN_A_ROW:
                    return first, time.perf_counter() - started
            else:
                streak = 0
    raise TimeoutError(f"{url} did not serve version {version} within {timeout_s} s")


@click.command()
@click.option("--trials", type=int, default=5, show_default=True)
def main(trials: int) -> None:
    import mlflow
    from mlflow import MlflowClient

    from stacks.spec import load_spec
    from stacks.webhook import apply_registry_webhook
    from tasador.registry.alias_moves import move_alias
    from tasador.registry.rollback import rollback
    from tasador.settings import Settings

    os.environ.update(QUIET_DEFAULTS)
    config = Settings().configs.serving
    started_procs = []
    with tempfile.TemporaryDirectory(prefix="tasador-bench-rollback-") as tmp:
        work = Path(tmp)
        try:
            port = free_port()
            tracking_uri = f"http://127.0.0.1:{port}"
            mlflow_cmd = [
                sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                "--artifacts-destination", str(work / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1",
            ]  # fmt: skip
            env = os.environ | {"HOME": str(work)} | webhook_delivery_env(work, cache_ttl_s=5)
            started_procs.append(spawn(mlflow_cmd, env, work / "mlflow.log", REPO_ROOT, tracking_uri + "/health"))
            old, frame, _ = register_model(tracking_uri, work / "unused", benchmark_config("serving", ServingBenchmark))
            client = MlflowClient(tracking_uri, tracking_uri)
            source = client.get_model_version(NAME, old)
            new = str(mlflow.register_model(source.source, NAME).version)  # the same model again, as a newer version
            move_alias(client, NAME, ALIAS, old, "promotion", "benchmark: first")
            move_alias(client, NAME, ALIAS, new, "promotion", "benchmark: second")

            secret = uuid.uuid4().hex
            evented, evented_url = serve(work, "evented", tracking_uri, 3600, {"TASADOR_WEBHOOK_SECRET": secret})
            polling, polling_url = serve(work, "polling", tracking_uri, config.model_watch.interval_s, {})
            started_procs += [evented, polling]
            os.environ |= {"TASADOR_MLFLOW_URL": tracking_uri, "TASADOR_SERVING_URL": evented_url}
            spec = load_spec(REPO_ROOT / "stacks" / "production.yaml", work)
            print(apply_registry_webhook(spec, Settings(webhook_secret=secret)), flush=True)
            time.sleep(6)  # past MLflow's webhook cache (5 s here), so the first trial's event is delivered
            body = {"listings": request_rows(frame, 1)}
            results: dict[str, list[tuple[float, float]]] = {"event": [], "polling": []}
            for trial in range(trials):
                for url in (evented_url, polling_url):
                    until_served(url, new, body, time.perf_counter(), timeout_s=300)
                started = time.perf_counter()
                rollback(client, NAME, ALIAS, reason=f"benchmark trial {trial}")
                with ThreadPoolExecutor(2) as pool:
                    services = (("event", evented_url), ("polling", polling_url))
                    futures = {key: pool.submit(until_served, url, old, body, started) for key, url in services}
                outcome = {key: future.result() for key, future in futures.items()}
                for key, value in outcome.items():
                    results[key].append(value)
                print(f"trial {trial}: {outcome}", flush=True)
                move_alias(client, NAME, ALIAS, new, "promotion", "benchmark: forward again")
            print(f"{os.cpu_count()} cores, load {os.getloadavg()}, poll interval {config.model_watch.interval_s:g} s")
            for key, values in results.items():
                firsts, alls = [v[0] for v in values], [v[1] for v in values]
                print(
                    f"| {key} | {len(values)} | {statistics.median(firsts):.2f} s (max {max(firsts):.2f}) | "
                    f"{statistics.median(alls):.2f} s (max {max(alls):.2f}) |"
                )
        finally:
            for proc in reversed(started_procs):
                stop(proc)


if __name__ == "__main__":
    main()
