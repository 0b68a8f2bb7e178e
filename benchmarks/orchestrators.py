"""One batch of the training loop on the local orchestrator vs Airflow, on the same production services.

    python -m benchmarks.orchestrators [--write | --only local|airflow]

Starts the production services itself (moto S3 + MLflow on PostgreSQL, tasador.services) on free loopback
ports with its own state folder and uniquely named databases; they are stopped by their pids and the
databases dropped at the end. Then, for each orchestrator (local, then Airflow), on a fresh RAW/CLEAN
database, a fresh TASADOR_HOME and ZENML_CONFIG_PATH and its own registered model name (so the second
orchestrator's batch 1 also finds no production model): the stack is applied (and for Airflow the DAG
submitted, `airflow db migrate`, the DagBag checked; all timed apart as set-up), then two batches: batch 1
trains, batch 2 usually does not. A batch is `python run.py --pipeline training` (local) or
`airflow dags test tasador_training` (Airflow), each a fresh process tree, as a user pays it.

Per batch: wall seconds; CPU seconds of the child process tree (getrusage RUSAGE_CHILDREN delta; for Airflow
plus the warm step server's and its steps' forks, stopped after each batch so each pays its start); CPU of
the MLflow and S3 servers (psutil, their process trees); the sum of the steps' own durations as ZenML
records them (start to end of each step run); for Airflow the sum of its task durations; load average.
`--write` puts the section into BENCHMARKS.md. Airflow is skipped, with a message, without .venv-airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import arguments, drop_database, free_port, markdown_table, run_timed, write_section
from tasador.configs import ServicesConfig
from tasador.services import start_services, stop_services
from tasador.services.postgres import ensure_database
from tasador.services.processes import running_pid
from tasador.settings import Settings
from tasador.store import Store
from tests.support.airflow_run import DAG_ID, LocalAirflow, airflow_home, default_airflow_venv, submit_pipeline
from tests.support.load import tree_cpu_s

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Orchestrators: one batch, local vs Airflow"
COMMAND = "python -m benchmarks.orchestrators --write"
BATCHES = 2


@dataclass
class Batch:
    orchestrator: str
    number: int
    wall_s: float
    cpu_s: float  # the batch's process tree (run.py or airflow, and every step process under it)
    services_cpu_s: float  # MLflow + S3 servers while the batch ran
    load: tuple[float, float]  # 1-minute load average before, after
    trained: bool = False
    rows: int = 0
    steps: int = 0
    steps_s: float = 0.0  # sum of the steps' own durations (ZenML step runs)
    tasks_s: float | None = None  # Airflow: sum of its task durations


@dataclass
class Setup:
    orchestrator: str
    what: str
    wall_s: float
    cpu_s: float


def services_config(state_dir: Path) -> ServicesConfig:
    """configs/services.yaml with free ports, its own state folder and database names of its own."""
    base = Settings().configs.services
    suffix = uuid.uuid4().hex[:8]
    return base.model_copy(
        update={
            "state_dir": state_dir,
            "postgres": base.postgres.model_copy(
                update={"app_database": f"tasador_b{suffix}", "mlflow_database": f"tasador_mlflow_b{suffix}"}
            ),
            "s3": base.s3.model_copy(update={"port": free_port()}),
            "mlflow": base.mlflow.model_copy(update={"port": free_port()}),
        }
    )


def services_cpu(config: ServicesConfig) -> float:
    """CPU seconds so far of the MLflow and S3 servers and their workers."""
    pids = (running_pid(config.state_dir, name) for name in ("mlflow", "s3"))
    return sum(tree_cpu_s(pid) for pid in pids if pid is not None)


def orchestrator_env(config: ServicesConfig, database: str, home: Path, tag: str) -> dict[str, str]:
    """A user's shell on the production services, with a home, a ZenML store and model name of its own.

    No S3 keys: the stack's secret holds the dev-only ones, as in the README's walk."""
    from tasador.env import QUIET_DEFAULTS

    env = {
        **os.environ,
        **QUIET_DEFAULTS,
        "TASADOR_HOME": str(home),
        "ZENML_CONFIG_PATH": str(home / "zenml"),
        "AWS_DEFAULT_REGION": config.s3.region,
        "TASADOR_S3_ENDPOINT": config.s3_endpoint,
        "TASADOR_S3_BUCKET": config.s3.bucket,
        "TASADOR_MLFLOW_URL": config.mlflow_url,
        "TASADOR_PG_DATABASE": database,
        "TASADOR_REGISTERED_MODEL_NAME": f"tasador-price-{tag}",
        "TASADOR_EXPERIMENT_NAME": f"tasador-{tag}",
    }
    for key in ("TASADOR_DB_URL", "MLFLOW_TRACKING_URI", "TASADOR_MLFLOW_TRACKING_URI"):
        env.pop(key, None)  # the stack's label and tracker decide, as for a user
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key, None)
    return env


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    return run_timed(command, env, ROOT)


def timed_batch(
    orchestrator: str, number: int, command: list[str], env: dict[str, str], config: ServicesConfig
) -> Batch:
    load_before = os.getloadavg()[0]
    services_before = services_cpu(config)
    wall, cpu, _ = timed(command, env)
    return Batch(
        orchestrator, number, wall, cpu, services_cpu(config) - services_before, (load_before, os.getloadavg()[0])
    )


def stop_step_server(airflow: LocalAirflow) -> float:
    """Stop the warm step server the batch's first task started; its CPU seconds, its steps' forks included.

    The server outlives `airflow dags test` (detached), so the batch's getrusage misses it; stopped after
    every batch, each batch pays the server's start, as an hourly schedule does (it exits when idle). Its
    socket is found as the tasks find it, from the DAG's own configuration and a task's environment.
    """
    import psutil

    from tasador.services.airflow_dag import CONFIG_FILENAME, DagConfiguration, step_env, step_server_socket

    with zipfile.ZipFile(airflow.dags_folder / f"{DAG_ID}.zip") as archive:
        dag = DagConfiguration.model_validate_json(archive.read(CONFIG_FILENAME))
    env = step_env(airflow.env, dag, dag.tasks[0], run_id="")
    log = Path(step_server_socket(dag, env).removesuffix(".sock") + ".log")
    ready = [line for line in log.read_text().splitlines() if " ready on " in line]
    server = psutil.Process(int(ready[-1].split()[2]))
    times = server.cpu_times()
    server.terminate()
    server.wait(timeout=30)
    return times.user + times.system + times.children_user + times.children_system


def add_outcomes(batches: list[Batch], env: dict[str, str], database_url: str) -> None:
    """Fill in, after the runs, whether each batch trained and its steps' own durations."""
    store = Store(database_url, create=False)
    decisions, records = store.decisions(), store.batches()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.orchestrators", "--zenml-step-seconds"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    if not len(decisions) == len(records) == len(runs) == len(batches):
        raise RuntimeError(f"expected {len(batches)} batches: {records}, {len(decisions)} decisions, ZenML runs {runs}")
    for batch, retrain, record, run in zip(batches, decisions["retrain"], records, runs, strict=True):
        batch.trained, batch.rows = bool(retrain), record.row_count
        batch.steps, batch.steps_s = run["steps"], run["steps_s"]


def zenml_step_seconds() -> list[dict[str, float]]:
    """Per pipeline run with steps (oldest first): how many steps ran and the sum of their durations."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(sort_by="asc:created", size=100, hydrate=True)
    result = []
    for run in runs.items:
        spans = [(s.end_time - s.start_time).total_seconds() for s in run.steps.values() if s.start_time and s.end_time]
        if spans:  # Airflow's submission records a run without steps
            result.append({"steps": len(spans), "steps_s": sum(spans)})
    return result


def apply_stack(orchestrator: str, stack: str, env: dict[str, str]) -> Setup:
    wall, cpu, _ = timed([sys.executable, "run.py", "stack", "apply", f"stacks/{stack}.yaml", "--activate"], env)
    return Setup(orchestrator, f"`run.py stack apply stacks/{stack}.yaml`", wall, cpu)


def local_batches(config: ServicesConfig, database_url: str, env: dict[str, str]) -> tuple[list[Setup], list[Batch]]:
    setups = [apply_stack("local", "production", env)]
    command = [sys.executable, "run.py", "--pipeline", "training"]
    batches = [timed_batch("local", n, command, env, config) for n in range(1, BATCHES + 1)]
    add_outcomes(batches, env, database_url)
    return setups, batches


def airflow_batches(
    config: ServicesConfig, database_url: str, env: dict[str, str], airflow: LocalAirflow
) -> tuple[list[Setup], list[Batch]]:
    setups = [apply_stack("Airflow", "airflow", env)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    submitted = submit_pipeline(ROOT, env, DAG_ID)
    if submitted.returncode != 0:
        raise RuntimeError(f"submitting the pipeline failed:\n{submitted.stdout[-4000:]}\n{submitted.stderr[-4000:]}")
    airflow.migrate()
    parsed = airflow.dagbag()
    if parsed != {"import_errors": {}, "dag_ids": [DAG_ID]}:
        raise RuntimeError(f"Airflow does not load the DAG: {parsed}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    setups.append(
        Setup("Airflow", "submit (DAG zip) + `airflow db migrate` + DagBag", time.perf_counter() - started, cpu)
    )

    batches = []
    for number in range(1, BATCHES + 1):
        batch = timed_batch("Airflow", number, airflow.dags_test_command(DAG_ID), airflow.env, config)
        batch.cpu_s += stop_step_server(airflow)
        batches.append(batch)
    runs = airflow.dag_runs(DAG_ID)
    if [state for _, state in runs] != ["success"] * BATCHES:
        raise RuntimeError(f"DAG runs did not all succeed: {runs}")
    for batch, (run_id, _) in zip(batches, runs, strict=True):
        batch.tasks_s = sum(airflow.task_seconds(run_id).values())
    add_outcomes(batches, env, database_url)
    return setups, batches


def render(setups: list[Setup], batches: list[Batch], skipped: str | None, load: tuple[float, float]) -> str:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    lines = [
        SECTION,
        f"`{COMMAND}` — {time.strftime('%Y-%m-%d')}, {platform.node()} ({os.cpu_count()} cores, {cpu_model}), "
        f"load average {load[0]:.1f} before / {load[1]:.1f} after the whole run. Same "
        "services for both (moto S3 + MLflow server on PostgreSQL 127.0.0.1:5432, started by the script), each "
        "orchestrator on a fresh RAW/CLEAN database, TASADOR_HOME and ZenML store, default source (the `demo` "
        "scenario). CPU = user + system of the batch's process tree (getrusage of children); the servers' CPU "
        "apart (PostgreSQL's is not counted: it is shared).",
        "",
    ]
    header = ["orchestrator", "batch (rows)", "trains", "wall s", "CPU s", "MLflow + S3 CPU s", "steps (ZenML)"]
    header += ["steps' own s", "Airflow tasks s", "rest of the wall s", "load before → after"]
    rows = [
        [
            b.orchestrator, f"{b.number} ({b.rows:,})", "yes" if b.trained else "no", f"{b.wall_s:.1f}",
            f"{b.cpu_s:.1f}", f"{b.services_cpu_s:.1f}", b.steps, f"{b.steps_s:.1f}",
            f"{b.tasks_s:.1f}" if b.tasks_s is not None else "—", f"{b.wall_s - b.steps_s:.1f}",
            f"{b.load[0]:.1f} → {b.load[1]:.1f}",
        ]
        for b in batches
    ]  # fmt: skip
    lines += [markdown_table(header, rows), "", "Set-up, once per orchestrator (not in the batches above):", ""]
    setup_rows = [[s.orchestrator, s.what, f"{s.wall_s:.1f}", f"{s.cpu_s:.1f}"] for s in setups]
    lines.append(markdown_table(["orchestrator", "what", "wall s", "CPU s"], setup_rows))
    lines += ["", *_explanation(batches, skipped)]
    return "\n".join(lines) + "\n"


def _explanation(batches: list[Batch], skipped: str | None) -> list[str]:
    if skipped:
        return [f"Airflow was not measured: {skipped}"]
    by = {(b.orchestrator, b.number): b for b in batches}
    if {orchestrator for orchestrator, _ in by} != {"local", "Airflow"}:
        return ["One orchestrator only (`--only`): no comparison."]
    parts = []
    for number in range(1, BATCHES + 1):
        local, air = by[("local", number)], by[("Airflow", number)]
        assert air.tasks_s is not None
        extra_cpu = air.cpu_s - local.cpu_s
        parts.append(
            f"batch {number}: wall {air.wall_s:.0f} s on Airflow vs {local.wall_s:.0f} s local "
            f"({air.wall_s / local.wall_s:.1f}×); CPU {air.cpu_s:.0f} vs {local.cpu_s:.0f} s, i.e. {extra_cpu:.0f} s "
            f"more, {extra_cpu / max(air.steps, 1):.0f} s per task; Airflow's task time outside the steps "
            f"{air.tasks_s - air.steps_s:.0f} s ({(air.tasks_s - air.steps_s) / max(air.steps, 1):.0f} s per task), "
            f"`airflow dags test` outside its tasks {air.wall_s - air.tasks_s:.0f} s"
        )
    return [
        "Where Airflow's extra time goes: the local orchestrator runs every step in the one `run.py` process, so "
        "Python, ZenML, MLflow and the stack are imported and started once per batch. Airflow runs one process "
        "per task, a fork of the warm step server (`tasador/services/step_server.py`, started by the first task: "
        "its start, imports, ZenML store and stack are in that task's time), so a task no longer pays those, but "
        "still ZenML's step launch (snapshot, run and step records, output URIs) and its first calls to S3, MLflow "
        'and the database ("Airflow tasks s" minus "steps\' own s"); `airflow dags test` adds its own start, '
        'metadata database and DAG parsing ("wall s" minus "Airflow tasks s"). The steps run the same code on the '
        "same services; "
        "their own time moves with the load of the moment (last column): CPU seconds are the fairer comparison. "
        + "; ".join(parts)
        + ". A scheduler-run Airflow (`airflow standalone`) adds its scheduling latency between tasks on top.",
    ]


ORCHESTRATORS = ("local", "airflow")


def run(work: Path, orchestrators: tuple[str, ...] = ORCHESTRATORS) -> str:
    load_before = os.getloadavg()[0]
    config = services_config(work / "services")
    databases: list[str] = []
    setups: list[Setup] = []
    batches: list[Batch] = []
    airflow_venv = default_airflow_venv(ROOT)
    skipped = None
    try:
        start_services(config)
        for tag in orchestrators:
            home = work / tag
            if tag == "airflow" and not (airflow_venv / "bin" / "airflow").exists():
                skipped = f"no Airflow in {airflow_venv} (install it with `bash airflow/setup.sh`)."
                print(f"Skipping Airflow: {skipped}", file=sys.stderr)
                continue
            database = f"tasador_bench_{tag}_{uuid.uuid4().hex[:8]}"
            url = config.postgres.url(database)
            ensure_database(url, config.postgres.admin_database)
            databases.append(url)
            env = orchestrator_env(config, database, home, f"{tag}-{uuid.uuid4().hex[:6]}")
            print(f"{tag}: running {BATCHES} batches…", file=sys.stderr)
            if tag == "local":
                done = local_batches(config, url, env)
            else:
                done = airflow_batches(config, url, env, LocalAirflow(airflow_venv, airflow_home(home), env))
            setups += done[0]
            batches += done[1]
            # So that a later failure does not lose what was measured.
            print(f"{tag}: {[vars(b) for b in done[1]]}", file=sys.stderr)
    finally:
        stop_services(config)
        for url in [*databases, config.database_url, config.mlflow_backend_url]:
            drop_database(url, config.postgres.admin_database)
    return render(setups, batches, skipped, (load_before, os.getloadavg()[0]))


def main() -> None:
    parser = arguments(__doc__, write="put the section into BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, Airflow's db)")
    parser.add_argument(
        "--only", choices=ORCHESTRATORS, help="run one orchestrator's batches (to iterate; not with --write)"
    )
    parser.add_argument("--zenml-step-seconds", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only and args.write:
        parser.error("--write compares both orchestrators from one sitting: drop --only")
    orchestrators = (args.only,) if args.only else ORCHESTRATORS
    if args.zenml_step_seconds:
        print(json.dumps(zenml_step_seconds()))
        return
    if args.keep:
        text = run(Path(tempfile.mkdtemp(prefix="tasador-orchestrators-")), orchestrators)
    else:
        with tempfile.TemporaryDirectory(prefix="tasador-orchestrators-") as folder:
            text = run(Path(folder), orchestrators)
    print(text)
    if args.write:
        write_section(text, SECTION, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
