"""The service while its database goes away: `bentoml serve` logging to a private PostgreSQL cluster that
the test stops and starts again while a client keeps sending requests. Nothing the service answered may be
missing from the inference log once the database is back, and no request may fail because of it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select

from tasador.store import tables as t
from tests.support.private_postgres import PrivatePostgres
from tests.support.service import (
    LISTING,
    Process,
    metric,
    register_version,
    serving_config,
    set_production,
    start_service,
    synthetic_listings,
    train_predictor,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SPILL_AFTER_ROWS = 25  # a tiny in-memory buffer, so the outage also spills rows to disk and replays them
OUTAGE_S = 8.0  # at least this long without a database, whatever else the test waits for
SIZES = (1, 2, 3)  # listings per request, in turn: logged rows are counted per listing, not per request


@dataclass
class Served:
    service: Process
    database_url: str
    home: Path
    tracking_uri: str
    config: Path

    @property
    def spill_dir(self) -> Path:
        return self.home / "tasador" / "inference_log"

    def restart(self) -> None:
        """A new `bentoml serve` over the same home (so the same spill folder), as after a crash or deploy."""
        self.service.stop()
        self.service = start_service(self.home, self.tracking_uri, self.database_url, self.config)
        wait_until(lambda: metric(self.service.url, "tasador_model_ready") == 1, timeout=120, what="the model again")


@pytest.fixture(scope="module")
def served(private_postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Two workers serving a production model (local MLflow store), logging to the private cluster."""
    root = tmp_path_factory.mktemp("service-faults")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    frame = synthetic_listings()
    set_production(tracking_uri, register_version(tracking_uri, train_predictor(frame), frame, {}))
    config = serving_config(
        root / "serving.yaml",
        inference_log={"max_buffer_rows": SPILL_AFTER_ROWS, "retry_initial_s": 0.2, "retry_max_s": 2},
    )
    service = start_service(root / "service", tracking_uri, private_postgres.url, config)
    deployed = Served(service, private_postgres.url, root / "service", tracking_uri, config)
    try:
        wait_until(lambda: metric(service.url, "tasador_model_ready") == 1, timeout=120, what="a model in every worker")
        yield deployed
    finally:
        deployed.service.stop()  # the one running now: a test may have restarted it


@dataclass
class Client:
    """Sends /predict requests one after another until stopped; keeps every answer and every failure."""

    url: str
    answers: list[tuple[str, int]] = field(default_factory=list)  # (request_id, listings) of each 200
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Client:
        self._thread = threading.Thread(target=self._run, name="client", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            sent = 0
            while not self._stop.is_set():
                size = SIZES[sent % len(SIZES)]
                sent += 1
                try:
                    answer = http.post(self.url + "/predict", json={"listings": [LISTING] * size})
                except httpx.TransportError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
                else:
                    self.answers.append((answer.json()["request_id"], size))

    def rows_served(self) -> int:
        return sum(size for _, size in list(self.answers))


def logged(database_url: str, request_ids: set[str] | None = None) -> tuple[int, int, set[str]]:
    """(rows, distinct (request_id, row_index) pairs, request ids) in the inference log, or of these requests."""
    engine = create_engine(database_url)
    log = t.inference_log
    mine = log.c.request_id.in_(request_ids) if request_ids is not None else True
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(log.name):
                return 0, 0, set()  # the writer creates it with its first write
            rows = int(conn.execute(select(func.count()).select_from(log).where(mine)).scalar_one())
            pairs = select(log.c.request_id, log.c.row_index).where(mine).distinct().subquery()
            distinct = int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())
            ids = set(conn.execute(select(log.c.request_id).where(mine).distinct()).scalars())
    finally:
        engine.dispose()
    return rows, distinct, ids


def spilled_rows(spill_dir: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in spilled(spill_dir))


def spilled(spill_dir: Path) -> list[Path]:
    return sorted(spill_dir.glob("*.jsonl")) if spill_dir.exists() else []


def test_database_restart_under_requests_loses_no_inference_log_row(
    served: Served, private_postgres: PrivatePostgres
) -> None:
    client = Client(served.service.url).start()
    try:
        wait_until(lambda: len(client.answers) >= 10, timeout=60, what="the client's first answers")
        wait_until(lambda: logged(served.database_url)[0] > 0, timeout=60, what="rows logged before the outage")

        private_postgres.stop()
        down_since = time.monotonic()
        answered_before_outage = len(client.answers)
        # The service noticed (failed writes counted) and, past its small buffer, spilled rows to disk.
        wait_until(
            lambda: (metric(served.service.url, "tasador_inference_log_failures_total") or 0) > 0,
            timeout=60,
            what="the service to count failed inference-log writes",
        )
        wait_until(lambda: spilled(served.spill_dir), timeout=120, what="rows spilled to disk during the outage")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_since)))
        answered_during_outage = len(client.answers) - answered_before_outage
        private_postgres.start()

        restarted_at = len(client.answers)
        wait_until(lambda: len(client.answers) >= restarted_at + 10, timeout=60, what="answers after the restart")
    finally:
        client.stop()

    assert client.failures == [], f"requests failed while the database restarted: {client.failures[:5]}"
    assert answered_during_outage > 0, "the service stopped answering while its database was down"
    served_rows = client.rows_served()
    wait_until(
        lambda: logged(served.database_url)[0] >= served_rows,
        timeout=120,
        what=f"all {served_rows} served rows to reach the inference log",
    )
    rows, distinct, request_ids = logged(served.database_url)
    assert rows == served_rows, f"{rows} rows logged for {served_rows} served (duplicates?)"
    assert distinct == rows, "a row was written twice"
    assert request_ids == {request_id for request_id, _ in client.answers}
    wait_until(lambda: not spilled(served.spill_dir), timeout=30, what="the spill files to be written back")
    wait_until(
        lambda: metric(served.service.url, "tasador_inference_log_backlog") == 0,
        timeout=30,
        what="the backlog gauge to return to 0",
    )


def test_service_restarted_while_database_is_down_writes_the_rows_back(
    served: Served, private_postgres: PrivatePostgres
) -> None:
    private_postgres.stop()
    answers: list[tuple[str, int]] = []
    try:
        for sent in range(12):
            size = SIZES[sent % len(SIZES)]
            answer = httpx.post(served.service.url + "/predict", json={"listings": [LISTING] * size}, timeout=30)
            assert answer.status_code == 200, answer.text
            answers.append((answer.json()["request_id"], size))
        # Shutdown cannot reach the database: what the workers still hold goes to their spill files.
        served.service.stop()
        on_disk, shutdown_log = spilled_rows(served.spill_dir), served.service.tail()
    finally:
        private_postgres.start()
        served.restart()  # its workers claim the files of the exited ones (and later tests get a service)
    served_rows = sum(size for _, size in answers)
    assert on_disk == served_rows, f"{on_disk} rows on disk after shutdown, {served_rows} served:\n{shutdown_log}"
    request_ids = {request_id for request_id, _ in answers}
    wait_until(
        lambda: logged(served.database_url, request_ids)[0] >= served_rows,
        timeout=120,
        what=f"the {served_rows} spilled rows to reach the inference log",
    )
    rows, distinct, ids = logged(served.database_url, request_ids)
    assert (rows, distinct, ids) == (served_rows, served_rows, request_ids)
    wait_until(lambda: not spilled(served.spill_dir), timeout=30, what="the spill files to be removed")


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(served: Served) -> None:
    """No Content-Length to refuse up front: the guard reads up to the limit, then answers 413."""
    limit = yaml.safe_load(served.config.read_text())["api"]["max_body_bytes"]
    host, port = served.service.url.removeprefix("http://").split(":")
    body = b" " * (limit + 1)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _split(body, 65536))
    request = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        conn.sendall(request + chunks + b"0\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"413", status_line
    assert b"too_large" in answer
    still = httpx.post(served.service.url + "/predict", json={"listings": [LISTING]}, timeout=30)
    assert still.status_code == 200


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
