"""The service as users meet it: `bentoml serve` over a real MLflow server, logging to real PostgreSQL.

The tests share one deployment (starting it is the expensive part) and run in file order: it starts
without a production model, one is promoted, the alias moves under load, MLflow goes down and back.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from tasador.configs import InferenceLogConfig
from tasador.monitoring.loop_metrics import SERVICE_METRICS
from tasador.serving.inference_log import InferenceLog, LoggedRow
from tasador.store import tables as t
from tests.support.service import LISTING, WATCH_INTERVAL_S, Deployment, metric, set_production, start_mlflow
from tests.support.waiting import wait_until

METRIC_NAMES = SERVICE_METRICS  # the contract the dashboard and alerts are built on


def predict(url: str, listings: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(url + "/predict", json={"listings": listings}, timeout=30)


def logged_rows(database_url: str, request_ids: list[str] | None = None) -> int:
    engine = create_engine(database_url)
    query = select(func.count()).select_from(t.inference_log)
    if request_ids is not None:
        query = query.where(t.inference_log.c.request_id.in_(request_ids))
    with engine.connect() as conn:
        count = int(conn.execute(query).scalar_one())
    engine.dispose()
    return count


# --- in file order: no model, then one ------------------------------------------------------------
def test_without_production_model_service_is_up_but_not_ready(deployment: Deployment) -> None:
    if metric(deployment.url, "tasador_model_ready") == 1:
        pytest.skip("runs first in this module, before a model is promoted")
    assert httpx.get(deployment.url + "/health").status_code == 200
    ready = httpx.get(deployment.url + "/ready")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False and ready.json()["status"] == "no_model"
    assert httpx.get(deployment.url + "/readyz").status_code == 503  # BentoML's probe agrees

    answer = predict(deployment.url, [LISTING])
    assert answer.status_code == 503
    assert "production" in answer.json()["message"]  # says which alias is missing and what to do


def test_predicts_prices_with_model_version_and_request_id(served: Deployment) -> None:
    small = {**LISTING, "house_size": 900, "bed": 2}
    answer = predict(served.url, [LISTING, small])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == served.versions[0]
    assert len(body["request_id"]) >= 16
    big_price, small_price = body["prices"]
    assert 50_000 < small_price < big_price < 5_000_000  # the toy model prices ~150 $/sqft in Texas


def test_accepts_the_feed_forms_of_ids_zip_and_state(served: Deployment) -> None:
    feed_row = {**LISTING, "brokered_by": 1001.0, "street": 7.0, "zip_code": 78701.0, "state": "TEXAS"}
    clean_row = predict(served.url, [LISTING]).json()["prices"]
    assert predict(served.url, [feed_row]).json()["prices"] == pytest.approx(clean_row)
    # What cleaning reads from the feed, read the same way: numbers as text, a zip+4, a status in words.
    as_text = {
        **LISTING,
        "zip_code": "78701-1234",
        "house_size": f"{LISTING['house_size']:,}",
        "bed": str(LISTING["bed"]),
        "status": "For Sale",
    }
    assert predict(served.url, [as_text]).json()["prices"] == pytest.approx(clean_row)
    sparse = {"status": "sold", "state": "Ohio", "bed": None, "prev_sold_date": None}
    assert predict(served.url, [sparse]).status_code == 200


def test_explains_each_listing_with_shap_values(served: Deployment) -> None:
    answer = httpx.post(served.url + "/explain", json={"listings": [LISTING, LISTING]}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["values"]) == 2 and len(body["values"][0]) == len(body["feature_names"])
    assert "house_size" in body["columns"]
    # Exact TreeSHAP: base value plus the contributions is the log of the price.
    assert body["base_value"] + sum(body["values"][0]) == pytest.approx(math.log(body["prices"][0]), rel=1e-4)


def test_explain_says_its_unit_and_its_base_price_in_dollars(served: Deployment) -> None:
    body = httpx.post(served.url + "/explain", json={"listings": [LISTING]}, timeout=30).json()
    assert body["unit"] == "log dollars"
    assert body["base_price"] == pytest.approx(math.exp(body["base_value"]))


def test_one_openapi_document_and_a_docs_page_served_by_the_service(served: Deployment) -> None:
    """BentoML's /docs.json and FastAPI's /openapi.json are one document; /docs loads nothing from elsewhere."""
    assert httpx.get(served.url + "/docs.json").json() == httpx.get(served.url + "/openapi.json").json()
    page = httpx.get(served.url + "/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets  # same origin, no CDN
    for asset in assets:
        assert httpx.get(served.url + asset).status_code == 200, asset
    assert httpx.get(served.url + "/", follow_redirects=False).headers["location"] == "/docs"


def test_model_info_shows_registry_version_tags_and_metrics(served: Deployment) -> None:
    info = httpx.get(served.url + "/model").json()
    assert info["version"] == served.versions[0]
    assert info["source"] == "registry" and info["status"] == "ready"
    assert info["decision"] == "promoted" and info["reason"] == "first model" and info["batches"] == "1"
    assert info["metrics"] == {"rmse": 51000.5, "mdape": 0.08}
    assert dt.datetime.fromisoformat(info["promoted_at"]) <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    ("listing", "field"),
    [
        ({**LISTING, "bed": "three"}, "listings.0.bed"),
        ({**LISTING, "house_size": -10}, "listings.0.house_size"),
        ({**LISTING, "house_size": 1e7}, "listings.0.house_size"),
        ({**LISTING, "bath": 101}, "listings.0.bath"),
        ({**LISTING, "acre_lot": -0.5}, "listings.0.acre_lot"),
        ({k: v for k, v in LISTING.items() if k != "state"}, "listings.0.state"),
        ({**LISTING, "state": "Atlantis"}, "listings.0.state"),
        ({**LISTING, "status": "rented"}, "listings.0.status"),
        ({**LISTING, "zip_code": "7870x"}, "listings.0.zip_code"),
        ({**LISTING, "prev_sold_date": "last year"}, "listings.0.prev_sold_date"),
        ({**LISTING, "house_sise": 1800}, "listings.0.house_sise"),
    ],
)
def test_bad_listing_is_a_422_naming_the_field(served: Deployment, listing: dict[str, Any], field: str) -> None:
    answer = predict(served.url, [LISTING, listing])
    assert answer.status_code == 422
    assert answer.json()["fields"] == [field.replace("listings.0", "listings.1")]


def test_bad_bodies_are_4xx_never_5xx(served: Deployment) -> None:
    url = served.url + "/predict"
    too_many = httpx.post(url, json={"listings": [LISTING] * 1001}, timeout=30)
    assert too_many.status_code == 422 and too_many.json()["fields"] == ["listings"]
    malformed = httpx.post(url, content=b'{"listings": [{"bed": 3,', headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "malformed_json"
    assert httpx.post(url, json={"listings": []}).status_code == 422
    assert httpx.post(url, json=[LISTING]).status_code == 422
    huge = httpx.post(url, content=b" " * 3_000_000, headers={"content-type": "application/json"}, timeout=30)
    assert huge.status_code == 413


def test_alias_move_is_served_without_restart_or_failed_request(served: Deployment) -> None:
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                answer = http.post(served.url + "/predict", json={"listings": [LISTING]})
                seen.append((answer.status_code, answer.json().get("model_version")))

    old, new = served.versions
    thread = threading.Thread(target=client)
    thread.start()
    try:
        wait_until(lambda: len(seen) >= 5, timeout=30, what="the client's first answers")
        set_production(served.mlflow.url, new)
        # Every worker serves the new version (the gauge is the max over workers: 0 once none serves it).
        wait_until(
            lambda: metric(served.url, f'tasador_model_info{{version="{old}"}}') == 0,
            timeout=WATCH_INTERVAL_S + 30,  # the interval, plus downloading the model on a busy machine
            what=f"every worker to swap version {old} for {new}",
        )
        count_at_swap = len(seen)
        wait_until(lambda: len(seen) >= count_at_swap + 5, timeout=30, what="answers after the swap")
    finally:
        stop.set()
        thread.join()
    assert [code for code, _ in seen if code != 200] == []
    assert seen[-1][1] == new
    assert {version for _, version in seen} == {old, new}


def test_every_prediction_is_in_the_inference_log(served: Deployment) -> None:
    request_ids = []
    for size in (1, 3, 7):
        answer = predict(served.url, [LISTING] * size)
        request_ids.append(answer.json()["request_id"])
    wait_until(lambda: logged_rows(served.database_url, request_ids) == 11, timeout=30, what="11 logged rows")

    # And over the whole module: rows in the log == listings the service counted as predicted.
    def all_logged() -> bool:
        predicted = sum(
            metric(served.url, f'tasador_predictions_total{{model_version="{v}"}}') or 0 for v in served.versions
        )
        return predicted > 0 and logged_rows(served.database_url) == predicted

    wait_until(all_logged, timeout=30, what="every predicted row to reach the inference log")
    assert metric(served.url, "tasador_inference_log_failures_total") == 0


def test_metrics_endpoint_exposes_the_contract_names(served: Deployment) -> None:
    text = httpx.get(served.url + "/metrics").text
    for name in METRIC_NAMES:
        assert f"\n{name}" in text or text.startswith(name), f"{name} missing from /metrics"
    assert metric(served.url, 'tasador_errors_total{kind="validation"}')


@pytest.mark.slow  # restarts the MLflow server
def test_mlflow_outage_degrades_but_keeps_serving(served: Deployment) -> None:
    port = int(served.mlflow.url.rsplit(":", 1)[1])
    served.mlflow.stop()
    try:
        wait_until(
            lambda: httpx.get(served.url + "/ready").json()["status"] == "degraded",
            timeout=WATCH_INTERVAL_S + 30,
            what="readiness to say degraded",
        )
        assert httpx.get(served.url + "/ready").status_code == 200
        assert predict(served.url, [LISTING]).status_code == 200
    finally:
        served.mlflow = start_mlflow(served.mlflow_root, port)
    wait_until(
        lambda: httpx.get(served.url + "/ready").json()["status"] == "ready",
        timeout=WATCH_INTERVAL_S + 30,
        what="readiness to recover once MLflow is back",
    )


# --- the writer on its own: a database that is down, then up; a worker that exited ---------------
FAST_LOG = InferenceLogConfig(
    flush_interval_s=0.05,
    flush_rows=50,
    max_buffer_rows=20,  # tiny, so the test overflows it and spills to disk
    retry_initial_s=0.05,
    retry_max_s=0.2,
    shutdown_timeout_s=5,
)


def test_inference_log_keeps_rows_while_database_is_down(postgres_url: str, tmp_path: Path) -> None:
    from tests.support.postgres import POSTGRES_ADMIN_URL

    missing_db = postgres_url + "_not_yet"
    failures: list[int] = []
    log = InferenceLog(missing_db, tmp_path / "spill", FAST_LOG, on_failure=lambda: failures.append(1))
    log.start()
    received = dt.datetime.now(dt.UTC)
    request_ids = [uuid.uuid4().hex for _ in range(10)]
    for request_id in request_ids:
        log.record(request_id, [LISTING] * 7, [100_000.0] * 7, "1", received)
    wait_until(lambda: len(failures) >= 2, timeout=10, what="failed writes to be counted")
    wait_until(lambda: list((tmp_path / "spill").glob("*.jsonl")), timeout=10, what="overflow spilled to disk")
    wait_until(lambda: log.backlog() == 70, timeout=10, what="all 70 rows kept in memory or on disk")

    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = missing_db.rsplit("/", 1)[1]
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        wait_until(lambda: log.backlog() == 0, timeout=20, what="the backlog to drain once the database is up")
        log.stop()
        assert logged_rows(missing_db, request_ids) == 70
        assert list((tmp_path / "spill").glob("*")) == []
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def test_spill_left_by_an_exited_worker_is_written_back(sqlite_url: str, tmp_path: Path) -> None:
    exited = subprocess.Popen(["true"])
    exited.wait()
    spill = tmp_path / "spill"
    spill.mkdir()
    row = LoggedRow(uuid.uuid4().hex, 0, dt.datetime.now(dt.UTC), "3", LISTING, 250_000.0)
    (spill / f"spill-{exited.pid}.jsonl").write_text(row.to_json() + "\n")
    log = InferenceLog(sqlite_url, spill, FAST_LOG)
    log.start()
    wait_until(lambda: log.backlog() == 0, timeout=20, what="the exited worker's spill to be written")
    log.stop()
    assert logged_rows(sqlite_url, [row.request_id]) == 1
