"""Release control with the real parts: an MLflow server that sends its webhooks, `bentoml serve` twice.

One service has the registry's webhook (registered as `stack apply` does) and a poll interval of an hour,
so only the event can make it follow the alias; the other has no webhook and polls every second. The
tests run in file order: a rollback first, then the history it left, then the admin routes' refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tasador.serving.registry_events import (
    DELIVERY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    webhook_delivery_env,
)
from tests.support.paths import REPO_ROOT
from tests.support.service import (
    ALIAS,
    LISTING,
    MODEL_NAME,
    Process,
    metric,
    register_version,
    serving_config,
    start_mlflow,
    start_service,
    synthetic_listings,
    train_predictor,
)
from tests.support.waiting import wait_until

FOLLOW_TIMEOUT_S = 60.0  # far below the evented service's hour-long poll: only the event can make it in time


@dataclass
class Release:
    mlflow: Process
    evented: Process  # webhook registered, polls once an hour
    polling: Process  # no webhook, polls every second
    versions: list[str]
    secret: str
    token: str
    evented_db: str  # the evented service's inference log

    def client(self):  # type: ignore[no-untyped-def]
        from mlflow import MlflowClient

        return MlflowClient(self.mlflow.url, self.mlflow.url)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    from stacks.spec import load_spec
    from stacks.webhook import apply_registry_webhook
    from tasador.registry.alias_moves import move_alias
    from tasador.settings import Settings

    root = tmp_path_factory.mktemp("release")
    secret, token = uuid.uuid4().hex, uuid.uuid4().hex
    started: list[Process] = []
    # An in-process ModelWatcher of an earlier test leaves MLflow's 5 s timeout in this process's environment:
    # the registry calls here, on a loaded machine, get a patient one.
    saved_timeout = os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT")
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "120"
    try:
        mlflow = start_mlflow(root / "mlflow", extra_env=webhook_delivery_env(root, cache_ttl_s=1))
        started.append(mlflow)
        frame = synthetic_listings()
        v1 = register_version(mlflow.url, train_predictor(frame), frame, {"decision": "promoted"})
        v2 = register_version(mlflow.url, train_predictor(frame, price_factor=3.0), frame, {"decision": "promoted"})
        from mlflow import MlflowClient

        client = MlflowClient(mlflow.url, mlflow.url)
        move_alias(client, MODEL_NAME, ALIAS, v1, "promotion", "first model")
        move_alias(client, MODEL_NAME, ALIAS, v2, "promotion", "challenger mdape 10.0% vs production 12.0%")

        evented_db = f"sqlite:///{root / 'evented.db'}"
        evented = start_service(
            root / "evented",
            mlflow.url,
            evented_db,
            serving_config(root / "evented.yaml", model_watch={"interval_s": 3600}),
            extra_env={"TASADOR_WEBHOOK_SECRET": secret, "TASADOR_ADMIN_TOKEN": token},
        )
        started.append(evented)
        polling = start_service(
            root / "polling",
            mlflow.url,
            f"sqlite:///{root / 'polling.db'}",
            serving_config(root / "polling.yaml", service={"workers": 1}),
        )
        started.append(polling)
        # The webhook as `python run.py stack apply stacks/production.yaml` registers it.
        saved = {k: os.environ.get(k) for k in ("TASADOR_MLFLOW_URL", "TASADOR_SERVING_URL")}
        os.environ |= {"TASADOR_MLFLOW_URL": mlflow.url, "TASADOR_SERVING_URL": evented.url}
        try:
            spec = load_spec(REPO_ROOT / "stacks" / "production.yaml", root)
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        applied = apply_registry_webhook(spec, Settings(webhook_secret=secret))
        assert applied.action == "registered", applied.note
        assert apply_registry_webhook(spec, Settings(webhook_secret=secret)).action == "unchanged"
        for service in (evented, polling):
            wait_until(lambda s=service: metric(s.url, "tasador_model_ready") == 1, 120, "every worker to load v2")
        yield Release(mlflow, evented, polling, [v1, v2], secret, token, evented_db)
    finally:
        for process in reversed(started):
            process.stop()
        if saved_timeout is None:
            os.environ.pop("MLFLOW_HTTP_REQUEST_TIMEOUT", None)
        else:
            os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = saved_timeout


def served_versions(url: str, requests: int = 20) -> set[str]:
    """The versions a burst of requests was answered by (several requests reach every worker)."""
    answers = [httpx.post(url + "/predict", json={"listings": [LISTING]}, timeout=30) for _ in range(requests)]
    assert all(a.status_code == 200 for a in answers), answers[0].text
    return {a.json()["model_version"] for a in answers}


def follows(url: str, version: str) -> bool:
    return served_versions(url) == {version}


def test_a_rollback_moves_the_alias_and_both_services_follow(release: Release) -> None:
    from tasador.registry.alias_moves import production_version
    from tasador.registry.rollback import rollback

    v1, v2 = release.versions
    assert follows(release.evented.url, v2) and follows(release.polling.url, v2)
    move = rollback(release.client(), MODEL_NAME, ALIAS, reason="v2 overprices Texas by 3x")
    assert (move.from_version, move.to_version, move.kind) == (v2, v1, "rollback")
    assert str(production_version(release.client(), MODEL_NAME, ALIAS).version) == v1
    # On the registry's event (its poll is an hour away), in every worker; and at the poll without events.
    wait_until(lambda: follows(release.evented.url, v1), FOLLOW_TIMEOUT_S, "the evented service to serve v1")
    wait_until(lambda: follows(release.polling.url, v1), FOLLOW_TIMEOUT_S, "the polling service to serve v1")
    assert httpx.get(release.evented.url + "/model", timeout=10).json()["version"] == v1


def test_the_history_shows_which_version_served_when(release: Release, tmp_path: Path) -> None:
    env = os.environ | {
        "MLFLOW_TRACKING_URI": release.mlflow.url,
        "TASADOR_HOME": str(tmp_path),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "COLUMNS": "250",  # one line per move
    }
    shown = subprocess.run(
        [sys.executable, "run.py", "model", "history"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "│" in line]
    v1, v2 = release.versions
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    assert [(r[1], r[4], r[5]) for r in rows] == [(v1, "rollback", v2), (v2, "promotion", v1), (v1, "promotion", "-")]
    assert rows[0][3] == "serving now" and "overprices" in rows[0][6]
    client = release.client()
    rolled_back, restored = (client.get_model_version(MODEL_NAME, v).tags for v in (v2, v1))
    assert rolled_back["rolled_back_to"] == v1 and rolled_back["rolled_back_reason"] == "v2 overprices Texas by 3x"
    assert restored["restored_from"] == v2 and restored["restored_at"] == rolled_back["rolled_back_at"]


def test_reload_is_refused_without_the_admin_token(release: Release) -> None:
    url = release.evented.url + "/admin/reload"
    assert httpx.post(url, timeout=10).status_code == 401
    wrong = httpx.post(url, headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401 and "TASADOR_ADMIN_TOKEN" in wrong.json()["message"]
    accepted = httpx.post(url, headers={"Authorization": f"Bearer {release.token}"}, timeout=10)
    assert accepted.status_code == 202
    # The polling service has no token configured: its admin routes refuse everyone.
    guess = {"Authorization": "Bearer guess"}
    assert httpx.post(release.polling.url + "/admin/reload", headers=guess, timeout=10).status_code == 401


def test_a_forged_unsigned_or_replayed_event_is_refused(release: Release) -> None:
    v2 = release.versions[1]
    body = json.dumps(
        {"entity": "model_version_alias", "action": "created", "timestamp": "now",
         "data": {"name": MODEL_NAME, "alias": ALIAS, "version": v2}}
    ).encode()  # fmt: skip
    url = release.evented.url + "/admin/registry-event"

    def send(secret: str, stamp: int) -> httpx.Response:
        delivery = uuid.uuid4().hex
        headers = {
            DELIVERY_ID_HEADER: delivery,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(secret, delivery, str(stamp), body),
            "Content-Type": "application/json",
        }
        return httpx.post(url, content=body, headers=headers, timeout=10)

    unsigned = httpx.post(url, content=body, timeout=10)
    assert unsigned.status_code == 401 and SIGNATURE_HEADER in unsigned.json()["message"]
    forged = send("another secret", int(time.time()))
    assert forged.status_code == 401 and "signature" in forged.json()["message"]
    assert send(release.secret, int(time.time()) - 3600).status_code == 401  # a recorded delivery, replayed
    assert send(release.secret, int(time.time())).status_code == 202  # signed as MLflow signs: accepted


class Scripted:
    """A challenger that prices as the served model does, except 25% more for the largest tenth of homes."""

    def __init__(self, served: Any) -> None:
        self.served = served

    def predict(self, listings: Any) -> np.ndarray:
        prices = self.served.predict(listings)
        return prices * np.where(np.asarray(listings["house_size"]) >= LARGEST, 1.25, 1.0)


LARGEST = 1900  # of house sizes 1000..1990 sent below: ten of a hundred


def test_shadow_replay_measures_how_far_served_prices_would_move(release: Release) -> None:
    from tasador.configs import ShadowGuard
    from tasador.model.pyfunc import load_predictor
    from tasador.promotion.replay import replay_served
    from tasador.registry.promotion import promote_or_reject
    from tasador.settings import Settings
    from tasador.store import Store
    from tests.support.service import mlflow_at

    v1 = release.versions[0]
    listings = [{**LISTING, "house_size": 1000 + 10 * i} for i in range(100)]
    answer = httpx.post(release.evented.url + "/predict", json={"listings": listings}, timeout=30)
    assert answer.status_code == 200 and answer.json()["model_version"] == v1
    store = Store(release.evented_db)
    wait_until(lambda: len(served_rows_of(store)) >= 100, 60, "the service to log the requests")

    with mlflow_at(release.mlflow.url):
        served_model = load_predictor(f"models:/{MODEL_NAME}/{v1}")
    config = Settings().configs.promotion.shadow
    shadow = replay_served(store, Scripted(served_model), config.model_copy(update={"requests": 100}))
    assert shadow.rows == 100
    assert shadow.median_abs_change_pct == pytest.approx(0.0, abs=1e-6)
    assert shadow.p95_abs_change_pct == pytest.approx(25.0, rel=1e-5)
    assert shadow.share_moved == pytest.approx(0.10)

    # A challenger 2% better on the holdout that moves the top of served prices by 25% is held, with why.
    frame = synthetic_listings()
    v3 = register_version(release.mlflow.url, train_predictor(frame, price_factor=1.1), frame, {})
    promotion = Settings().configs.promotion.model_copy(deep=True)
    promotion.shadow = promotion.shadow.model_copy(update={"guard": ShadowGuard(max_p95_change_pct=20, min_gain=0.05)})
    outcome = promote_or_reject(
        release.client(), MODEL_NAME, v3, {"mdape": 9.8}, {"mdape": 10.0}, promotion, ALIAS, shadow=shadow
    )
    assert not outcome.promoted and "held by the shadow replay" in outcome.reason and "25.0%" in outcome.reason
    tags = release.client().get_model_version(MODEL_NAME, v3).tags
    assert tags["decision"] == "rejected" and float(tags["shadow_p95_abs_change_pct"]) == pytest.approx(25.0)
    assert str(release.client().get_model_version_by_alias(MODEL_NAME, ALIAS).version) == v1


def served_rows_of(store: Any) -> list[Any]:
    from tasador.promotion.replay import served_rows

    return served_rows(store, 1000)
