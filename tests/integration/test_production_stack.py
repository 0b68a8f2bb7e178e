"""The production stack for real: MLflow server on PostgreSQL, moto S3 artifacts, PostgreSQL RAW/CLEAN."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tasador.configs import ServicesConfig
from tasador.schema import Batch
from tasador.services.preflight import StackServicesUnavailable, check_stack_services
from tasador.serving.schemas import EXAMPLE_LISTING
from tasador.settings import Settings
from tasador.store import Store
from tests.support.postgres import drop_database
from tests.support.prod import bucket_files, isolated_services_file, query, run_cli
from tests.support.service import serving_config, start_service
from tests.support.waiting import free_port, wait_until


def _apply(stack: str, env: dict[str, str], *extra: str) -> None:
    applied = run_cli("stack", "apply", f"stacks/{stack}.yaml", *extra, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr


def _train(env: dict[str, str], batches: int) -> None:
    started = time.monotonic()
    trained = run_cli("--pipeline", "training", "--batches", str(batches), env=env)
    assert trained.returncode == 0, trained.stdout[-4000:] + trained.stderr[-4000:]
    print(f"training, {batches} batch(es), local orchestrator: {time.monotonic() - started:.0f} s")


@pytest.mark.slow
def test_services_up_status_down_from_the_command_line(tmp_path: Path) -> None:
    services = isolated_services_file(tmp_path, tmp_path / "services", "cli")
    env = {**os.environ, "TASADOR_CONFIG_DIR": str(tmp_path)}
    try:
        up = run_cli("services", "up", env=env, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        assert services.mlflow_url in up.stdout and services.s3_endpoint in up.stdout
        assert httpx.get(services.mlflow_url + "/health", timeout=10).status_code == 200
        status = run_cli("services", "status", env=env)
        assert status.stdout.count("running (pid") == 2, status.stdout

        again = run_cli("services", "up", env=env, timeout=600)  # already up: kept, not started twice
        assert again.returncode == 0 and run_cli("services", "status", env=env).stdout == status.stdout
    finally:
        down = run_cli("services", "down", env=env)
        drop_database(services.mlflow_backend_url)
        drop_database(services.database_url)
    assert "stopped: mlflow, s3" in down.stdout
    assert run_cli("services", "status", env=env).stdout.count("stopped") == 2
    with pytest.raises(httpx.HTTPError):
        httpx.get(services.mlflow_url + "/health", timeout=5)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(2400)  # three full training runs; minutes each on two busy cores
def test_three_batches_on_the_production_stack_land_in_postgres_and_s3_and_are_served(
    prod_services: ServicesConfig, prod_env: dict[str, str], app_database: str, tmp_path: Path
) -> None:
    _apply("production", prod_env, "--activate")
    _train(prod_env, batches=3)

    store = Store(app_database, create=False)
    batches = store.batches()
    assert len(batches) == 3 and not [b for b in batches if b.status == "failed"]
    assert all(store.count("clean_rows", b.id) > 0 for b in batches)

    mlflow_db = prod_services.mlflow_backend_url
    assert query(mlflow_db, "SELECT count(*) FROM runs")[0][0] >= 1
    assert ("tasador-price",) in query(mlflow_db, "SELECT name FROM registered_models")
    assert query(mlflow_db, "SELECT count(*) FROM model_versions WHERE name = 'tasador-price'")[0][0] >= 1

    model_files = bucket_files(prod_services, "mlflow")
    assert any(key.endswith("MLmodel") for key in model_files), model_files[:20]
    assert bucket_files(prod_services, "zenml"), "no ZenML artifact in the bucket"

    # The service follows the production alias on that MLflow server; its artifacts come from the bucket.
    production = query(
        mlflow_db, "SELECT version FROM registered_model_aliases WHERE name = 'tasador-price' AND alias = 'production'"
    )
    assert production, "no version carries the production alias"
    service = start_service(
        tmp_path / "service", prod_services.mlflow_url, app_database, serving_config(tmp_path / "s.yaml")
    )
    try:
        wait_until(lambda: httpx.get(service.url + "/ready").status_code == 200, 120, "the service to load a model")
        answer = httpx.post(service.url + "/predict", json={"listings": [EXAMPLE_LISTING] * 2}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == str(production[0][0])
        assert all(price > 0 for price in answer.json()["prices"])
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(2400)  # two stack applies and two training runs
def test_zenml_stack_set_alone_moves_the_same_pipeline_from_local_to_production(
    prod_services: ServicesConfig, prod_env: dict[str, str], app_database: str, tmp_path: Path
) -> None:
    zenml = str(Path(sys.executable).parent / "zenml")
    _apply("local", prod_env)
    _apply("production", prod_env)

    subprocess.run([zenml, "stack", "set", "local"], env=prod_env, check=True, capture_output=True)
    _train(prod_env, batches=1)
    local_db = f"sqlite:///{tmp_path / 'home' / 'tasador.db'}"
    assert len(Store(local_db, create=False).batches()) == 1
    assert query(app_database, "SELECT count(*) FROM pg_tables WHERE tablename = 'raw_batches'")[0][0] == 0

    subprocess.run([zenml, "stack", "set", "production"], env=prod_env, check=True, capture_output=True)
    _train(prod_env, batches=1)
    assert len(Store(app_database, create=False).batches()) == 1
    assert len(Store(local_db, create=False).batches()) == 1  # the local stack's data is left as it was


def test_preflight_names_the_s3_endpoint_that_is_down(prod_services: ServicesConfig, app_database: str) -> None:
    settings = Settings(db_url=app_database, mlflow_tracking_uri=prod_services.mlflow_url)
    check_stack_services(settings, "s3://tasador/zenml", prod_services.s3_endpoint)  # all up: no error

    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StackServicesUnavailable) as raised:
        check_stack_services(settings, "s3://tasador/zenml", dead)
    message = str(raised.value)
    assert dead in message and "endpoint_url" in message
    assert prod_services.mlflow_url not in message  # only what is down is named


def test_preflight_names_an_unreachable_database(prod_services: ServicesConfig) -> None:
    gone = make_url(prod_services.database_url).set(port=free_port()).render_as_string(hide_password=False)
    settings = Settings(db_url=gone, mlflow_tracking_uri=prod_services.mlflow_url)
    with pytest.raises(StackServicesUnavailable, match="RAW/CLEAN database"):
        check_stack_services(settings, "s3://tasador/zenml", prod_services.s3_endpoint)


@pytest.mark.slow
def test_training_fails_clearly_when_the_s3_endpoint_is_down(prod_env: dict[str, str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {**prod_env, "TASADOR_S3_ENDPOINT": dead}
    _apply("production", env, "--activate")
    failed = run_cli("--pipeline", "training", env=env)
    assert failed.returncode != 0
    assert dead.removeprefix("http://") in failed.stdout + failed.stderr


def test_preflight_names_missing_s3_keys_with_the_fix(
    prod_services: ServicesConfig, app_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no probing of a cloud metadata endpoint
    settings = Settings(db_url=app_database, mlflow_tracking_uri=prod_services.mlflow_url)
    store = f"s3://{prod_services.s3.bucket}/zenml"
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": prod_services.s3_endpoint}, skip_instance_cache=True)
    with pytest.raises(StackServicesUnavailable) as raised:
        check_stack_services(settings, store, prod_services.s3_endpoint, s3_probe=lambda: fs.exists(store))
    problem = str(raised.value).splitlines()[1]
    assert problem.startswith(f"- S3 artifact store {store}: no S3 keys reach this process;")
    assert "python run.py stack apply stacks/<name>.yaml" in problem and "AWS_ACCESS_KEY_ID" in problem


@pytest.mark.slow
def test_training_stops_before_any_step_when_the_stack_s_s3_keys_are_gone(
    prod_env: dict[str, str], app_database: str
) -> None:
    _apply("production", prod_env, "--activate")
    zenml = str(Path(sys.executable).parent / "zenml")
    deleted = subprocess.run([zenml, "secret", "delete", "tasador_s3", "-y"], env=prod_env, capture_output=True)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr

    failed = run_cli("--pipeline", "training", env=prod_env)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "its keys cannot be read (The secret tasador_s3 does not exist)" in output, output[-3000:]
    assert "run `python run.py stack apply stacks/production.yaml` again" in output
    assert "Traceback" not in output and "fetch_batch" not in output  # no step started
    assert query(app_database, "SELECT count(*) FROM pg_tables WHERE tablename = 'raw_batches'")[0][0] == 0

    _apply("production", prod_env)  # the fix the message names: the secret is back
    secret = subprocess.run([zenml, "secret", "get", "tasador_s3"], env=prod_env, capture_output=True, text=True)
    assert secret.returncode == 0 and "aws_access_key_id" in secret.stdout + secret.stderr  # zenml writes to stderr


def _listing(i: int) -> dict[str, Any]:
    return {
        "brokered_by": 1000 + i % 97, "status": "for_sale", "price": 150000.0 + i, "bed": 3.0, "bath": 2.0,
        "acre_lot": 0.2, "street": 5000 + i, "city": "Raleigh", "state": "North Carolina",
        "zip_code": 27601.0, "house_size": 1500.0, "prev_sold_date": "2019-05-01",
    }  # fmt: skip


def test_a_connection_lost_mid_ingest_leaves_nothing_and_a_rerun_completes(postgres_url: str) -> None:
    app_database = postgres_url
    rows = [_listing(i) for i in range(20_000)]
    store = Store(app_database)
    outcome: dict[str, BaseException] = {}
    admin_url = make_url(app_database).set(database="postgres").render_as_string(hide_password=False)
    kill_copy = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{make_url(app_database).database}' AND query LIKE 'COPY%' AND wait_event_type = 'Lock'"
    )

    def ingest() -> None:
        try:  # the loop's way in
            store.ingest_raw(Batch("test:mid-ingest", 1, 1, rows))
        except BaseException as exc:
            outcome["error"] = exc

    holder_engine = create_engine(app_database)
    with holder_engine.connect() as holder:
        # A lock the COPY needs, held by the test: the ingest waits inside its COPY, its batch row written.
        holder.execute(text("LOCK TABLE raw_rows IN SHARE MODE"))
        worker = threading.Thread(target=ingest)
        worker.start()
        killed: list[tuple] = []
        wait_until(lambda: killed.extend(query(admin_url, kill_copy)) or killed, 60, "the ingest's COPY")
        holder.rollback()
    holder_engine.dispose()
    worker.join(timeout=120)
    assert killed == [(True,)]
    assert isinstance(outcome.get("error"), OperationalError)

    engine = create_engine(app_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM raw_batches")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM raw_rows")).scalar_one() == 0

    again = Store(app_database).ingest_raw(Batch("test:mid-ingest", 1, 1, rows))
    assert again.created and again.row_count == len(rows)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM raw_rows")).scalar_one() == len(rows)
    engine.dispose()
    store.dispose()
