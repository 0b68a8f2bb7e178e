"""Faults in the training loop, each against the real parts: `python run.py --pipeline training` as a user
runs it, killed by a real signal inside the training stage, or losing its MLflow server or S3 endpoint
there; the next run must finish the batch with nothing duplicated and nothing half-registered."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from sqlalchemy import create_engine, text

from tasador.configs import CONFIG_DIR, ServicesConfig
from tasador.registry.promotion import settle_unjudged_versions
from tasador.registry.tracking import configure_mlflow, end_abandoned_runs
from tasador.services import start_services
from tasador.services.config import s3_credentials
from tasador.services.processes import stop_process
from tasador.settings import Settings
from tasador.store import Store
from tests.support.prod import running_services
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "tasador-price"
TRAINING_STARTS_WITHIN_S = 900  # import, fetch, validate, clean and decide on two busy cores
RUN_TIMEOUT_S = 1800
#: MLflow's client retries a dead server for minutes by default; a user in a hurry sets the same.
FAST_MLFLOW_CLIENT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


# --- the run as a user starts it ----------------------------------------------------------------------


@pytest.fixture
def small_configs(tmp_path: Path) -> Path:
    """configs/ with a two-trial search: the faults are the same, the runs minutes shorter."""
    folder = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, folder)
    model = yaml.safe_load((folder / "model.yaml").read_text())
    model["search"]["n_trials"] = 2
    model["shap_sample"] = 100
    (folder / "model.yaml").write_text(yaml.safe_dump(model))
    return folder


def local_env(tmp_path: Path, configs: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "TASADOR_HOME": str(tmp_path / "home"),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "TASADOR_CONFIG_DIR": str(configs),
        **extra,
    }
    for key in ("TASADOR_DB_URL", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


def apply_stack(name: str, env: dict[str, str]) -> None:
    applied = cli("stack", "apply", f"stacks/{name}.yaml", "--activate", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr


def start_training(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`run.py --pipeline training` in its own session, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "run.py", "--pipeline", "training"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def training_has_started(mlflow_db: str, *, searching: bool = True, batch_id: int = 1) -> bool:
    """The batch's MLflow run is RUNNING (and, when `searching`, a trial run exists): inside `train`."""
    query = "SELECT count(*) FROM runs p WHERE p.name = :name AND p.status = 'RUNNING'"
    if searching:
        query = (
            "SELECT count(*) FROM runs p JOIN tags t ON t.key = 'mlflow.parentRunId' AND t.value = p.run_uuid "
            "WHERE p.name = :name AND p.status = 'RUNNING'"
        )
    engine = create_engine(mlflow_db)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(query), {"name": f"batch-{batch_id}"}).scalar_one()
    except Exception:  # the store is not created yet
        return False
    finally:
        engine.dispose()
    return found > 0


def wait_for_training(proc: subprocess.Popen[bytes], mlflow_db: str, log: Path, *, searching: bool = True) -> None:
    def started() -> bool:
        if training_has_started(mlflow_db, searching=searching):
            return True
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before training started:\n{log.read_text()[-3000:]}")
        return False

    try:
        wait_until(started, TRAINING_STARTS_WITHIN_S, "training to start", every_s=0.5)
    except AssertionError:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"training did not start within {TRAINING_STARTS_WITHIN_S} s:\n{log.read_text()[-3000:]}")


# --- what must hold after any fault and a rerun -----------------------------------------------------------


def assert_batch_completed_once(db_url: str) -> None:
    """One batch, done; RAW holds each row once; every row in CLEAN or quarantine, once."""
    store = Store(db_url, create=False)
    try:
        batches = store.batches()
        assert [(b.batch_number, b.status) for b in batches] == [(1, "done")], batches
        batch = batches[0]
        assert store.count("raw_rows", batch.id) == batch.row_count
        clean, quarantined = store.count("clean_rows", batch.id), sum(store.quarantine_counts(batch.id).values())
        assert clean + quarantined == batch.row_count
        with store.engine.connect() as conn:
            distinct = conn.execute(text("SELECT count(DISTINCT row_hash) FROM clean_rows")).scalar_one()
            raw_ids = conn.execute(text("SELECT count(DISTINCT raw_row_id) FROM clean_rows")).scalar_one()
        assert distinct == raw_ids == clean
        assert len(store.decisions()) == 1
    finally:
        store.dispose()


def assert_registry_consistent(tracking_uri: str) -> None:
    """Every version judged and loadable; the alias on one of them; no run left RUNNING."""
    import mlflow

    client = MlflowClient(tracking_uri, tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert versions, "no model was registered"
    for version in versions:
        assert version.status == "READY"
        assert version.tags.get("decision") in ("promoted", "rejected"), version.tags
        info = mlflow.models.get_model_info(f"models:/{MODEL}/{version.version}")  # reads its MLmodel
        assert info.flavors, f"version {version.version} has no model files"
    production = client.get_registered_model(MODEL).aliases.get("production")
    assert str(production) in {str(v.version) for v in versions}
    experiment = client.get_experiment_by_name("tasador")
    assert not client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")


# --- a real signal inside the training stage --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(3600)
def test_sigkill_inside_training_then_a_rerun_completes_the_batch_and_ends_at_exhaustion(
    data_api, small_configs: Path, tmp_path: Path
) -> None:
    server = data_api("--seed", "5", "--batch-size", "1000", "--batches", "1")
    env = local_env(tmp_path, small_configs, TASADOR_SOURCE="http", TASADOR_DATA_API_URL=server.url)
    home = tmp_path / "home"
    apply_stack("local", env)

    killed = start_training(env, tmp_path / "killed.log")
    wait_for_training(killed, f"sqlite:///{home / 'mlflow.db'}", tmp_path / "killed.log")
    os.killpg(killed.pid, signal.SIGKILL)  # its own session: the process and anything it started
    assert killed.wait(timeout=60) == -signal.SIGKILL
    store = Store(f"sqlite:///{home / 'tasador.db'}", create=False)
    assert [b.status for b in store.batches()] == ["cleaned"]  # killed after cleaning, before the end
    store.dispose()

    rerun = cli("--pipeline", "training", "--until-exhausted", env=env)

    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Batch 1 " in rerun.stdout and "version 1 promoted" in rerun.stdout
    assert "No batch left" in rerun.stdout  # the data API's 400 ends the loop cleanly
    assert_batch_completed_once(f"sqlite:///{home / 'tasador.db'}")
    tracking = f"sqlite:///{home / 'mlflow.db'}"
    assert_registry_consistent(tracking)
    runs = MlflowClient(tracking).search_runs(
        [MlflowClient(tracking).get_experiment_by_name("tasador").experiment_id], "attributes.run_name = 'batch-1'"
    )
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"]  # the killed attempt is closed


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(3600)
def test_sigterm_inside_training_records_the_batch_failed_and_a_rerun_completes_it(
    small_configs: Path, tmp_path: Path
) -> None:
    env = local_env(tmp_path, small_configs)
    home = tmp_path / "home"
    apply_stack("local", env)

    stopped = start_training(env, tmp_path / "stopped.log")
    wait_for_training(stopped, f"sqlite:///{home / 'mlflow.db'}", tmp_path / "stopped.log")
    os.kill(stopped.pid, signal.SIGTERM)
    returncode = stopped.wait(timeout=300)
    output = (tmp_path / "stopped.log").read_text()

    assert returncode == 1, output[-3000:]
    assert "The training run failed" in output and "run the same command again" in output
    store = Store(f"sqlite:///{home / 'tasador.db'}", create=False)
    [batch] = store.batches()
    # ZenML retries a step that a signal interrupted: the stop must be kept, not trained again.
    assert batch.status == "failed" and batch.error == "train: RunStoppedException: stopped by SIGTERM", batch
    assert "stopped by SIGTERM" in output
    store.dispose()

    rerun = cli("--pipeline", "training", env=env)

    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Batch 1 " in rerun.stdout
    assert_batch_completed_once(f"sqlite:///{home / 'tasador.db'}")
    assert_registry_consistent(f"sqlite:///{home / 'mlflow.db'}")


# --- what a killed attempt leaves in MLflow is closed before the batch is tried again -------------------


def test_a_killed_attempts_runs_and_unjudged_versions_are_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    # A store of its own: mlflow.set_tracking_uri in earlier tests leaves MLFLOW_TRACKING_URI in the environment.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = Settings(home=tmp_path / "home")
    client = configure_mlflow(settings)
    with mlflow.start_run(run_name="batch-7", tags={"source_batch": "7"}) as finished:
        mlflow.log_param("x", 1)
    parent = client.create_run(client.get_experiment_by_name("tasador").experiment_id, tags={"source_batch": "7"})
    trial = client.create_run(parent.info.experiment_id, tags={"mlflow.parentRunId": parent.info.run_id})
    other_batch = client.create_run(parent.info.experiment_id, tags={"source_batch": "8"})
    client.create_registered_model(MODEL)
    promoted = client.create_model_version(MODEL, "file:///nowhere/a", finished.info.run_id, tags={"source_batch": "7"})
    unjudged = client.create_model_version(MODEL, "file:///nowhere/b", parent.info.run_id, tags={"source_batch": "7"})
    client.set_registered_model_alias(MODEL, "production", promoted.version)  # the alias moved, the tag was lost

    ended = end_abandoned_runs(client, "tasador", 7)
    settled = settle_unjudged_versions(client, MODEL, "production", 7)

    assert sorted(ended) == sorted([parent.info.run_id, trial.info.run_id])
    assert client.get_run(parent.info.run_id).info.status == "KILLED"
    assert client.get_run(trial.info.run_id).info.status == "KILLED"
    assert client.get_run(finished.info.run_id).info.status == "FINISHED"
    assert client.get_run(other_batch.info.run_id).info.status == "RUNNING"  # another batch's run is not touched
    assert sorted(settled) == sorted([str(promoted.version), str(unjudged.version)])
    assert client.get_model_version(MODEL, promoted.version).tags["decision"] == "promoted"
    rejected = client.get_model_version(MODEL, unjudged.version).tags
    assert rejected["decision"] == "rejected" and "interrupted" in rejected["reason"]
    assert settle_unjudged_versions(client, MODEL, "production", 7) == []  # settled once


# --- the production stack losing a service inside the training stage ---------------------------------------


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[ServicesConfig]:
    """An MLflow server and an S3 server of this test's own (it stops one of them half-way)."""
    with running_services(tmp_path / "services", "f") as config:
        yield config


def production_env(config: ServicesConfig, tmp_path: Path, configs: Path) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    return local_env(
        tmp_path,
        configs,
        **s3_credentials(),
        **FAST_MLFLOW_CLIENT,
        AWS_DEFAULT_REGION=config.s3.region,
        TASADOR_S3_ENDPOINT=config.s3_endpoint,
        TASADOR_S3_BUCKET=config.s3.bucket,
        TASADOR_MLFLOW_URL=config.mlflow_url,
        TASADOR_PG_DATABASE=make_url(config.database_url).database or "",
    )


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("service", ["mlflow", "s3"])
def test_a_service_lost_inside_training_fails_the_batch_by_name_and_the_next_run_completes_it(
    own_services: ServicesConfig, small_configs: Path, tmp_path: Path, service: str
) -> None:
    config = own_services
    endpoint = {"mlflow": config.mlflow_url, "s3": config.s3_endpoint}[service]
    env = production_env(config, tmp_path, small_configs)
    apply_stack("production", env)

    failing = start_training(env, tmp_path / "failing.log")
    # S3 goes as soon as training starts, well before the model's files are written: moto keeps its
    # objects in memory, so files written before the stop would be gone after it, unlike MinIO's.
    wait_for_training(failing, config.mlflow_backend_url, tmp_path / "failing.log", searching=service == "mlflow")
    assert stop_process(config.state_dir, service, config.timeouts.stop_s)  # by the pid it was started with
    returncode = failing.wait(timeout=RUN_TIMEOUT_S)
    output = (tmp_path / "failing.log").read_text()

    assert returncode == 1, output[-3000:]
    assert "The training run failed" in output and endpoint in output, output[-3000:]
    store = Store(config.database_url, create=False)
    [batch] = store.batches()
    assert batch.status == "failed", batch
    assert endpoint.removeprefix("http://") in batch.error, batch.error
    store.dispose()

    start_services(config)  # the service is back (moto's S3 starts empty: nothing of run one is needed)
    rerun = cli("--pipeline", "training", env=env)

    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Batch 1 " in rerun.stdout
    assert_batch_completed_once(config.database_url)
    assert_registry_consistent(config.mlflow_url)
