"""Every prediction goes to RAW's `inference_log` without the request waiting for the database.

Requests append rows to an in-memory buffer; one background thread writes them in bulk. A failed write
is counted and retried with a growing pause while the rows stay buffered. When the buffer outgrows its
bound, the oldest rows spill to a JSONL file under the service's home, written back to the database
once it answers again. Rows are never dropped, and a prediction never fails because of the log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from tenacity import Retrying, retry_if_result, wait_exponential

from tasador.configs import InferenceLogConfig
from tasador.store import Store
from tasador.store import tables as t
from tasador.store.bulk import insert_rows

logger = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = ("request_id", "row_index", "received_at", "model_version", "inputs", "prediction")


class LoggedRow(NamedTuple):
    """One row of `inference_log`; a plain tuple, so a request appends its rows without Python loops."""

    request_id: str
    row_index: int
    received_at: dt.datetime
    model_version: str | None
    inputs: Any  # the listing as the client sent it (parsed JSON), serialised by the writer thread
    prediction: float

    def values(self) -> tuple[Any, ...]:
        return (
            self.request_id,
            self.row_index,
            self.received_at,
            self.model_version,
            # orjson: a 1,000-row request serialises in a fraction of the GIL time json.dumps holds.
            orjson.dumps(self.inputs, default=str).decode(),
            None if self.prediction != self.prediction else self.prediction,  # NaN: no price, NULL
        )

    def to_json(self) -> str:
        record = dict(zip(COLUMNS, self.values(), strict=True))
        record["received_at"] = self.received_at.isoformat()
        return json.dumps(record)

    @classmethod
    def from_json(cls, line: str) -> LoggedRow:
        record = json.loads(line)
        return cls(
            request_id=record["request_id"],
            row_index=record["row_index"],
            received_at=dt.datetime.fromisoformat(record["received_at"]),
            model_version=record["model_version"],
            inputs=json.loads(record["inputs"]),
            prediction=record["prediction"],
        )


class InferenceLog:
    """Buffered, bulk, retrying writer of `inference_log`. `record` never blocks on I/O."""

    def __init__(
        self,
        database_url: str,
        spill_dir: Path,
        config: InferenceLogConfig,
        on_failure: Callable[[], None] = lambda: None,
        on_backlog: Callable[[int], None] = lambda _: None,
    ) -> None:
        self._url = database_url
        self._spill_dir = spill_dir
        self._config = config
        self._on_failure = on_failure
        self._on_backlog = on_backlog
        # Only the request side appends and only the writer thread pops: deque needs no lock for that.
        self._buffer: deque[LoggedRow] = deque()
        self._store: Store | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inference-log-writer", daemon=True)
        self._in_flight = 0  # rows taken from the buffer by a write that has not finished
        # A refused write is tried again after a pause that doubles, from twice the flush interval (at least
        # retry_initial_s) up to retry_max_s; the pauses spill an overflowing buffer and end at a stop.
        self._retrying = Retrying(
            retry=retry_if_result(lambda written: not written),
            wait=wait_exponential(
                multiplier=max(2 * config.flush_interval_s, config.retry_initial_s), max=config.retry_max_s
            ),
            sleep=self._pause,
        )

    @property
    def _spill_file(self) -> Path:
        return self._spill_dir / f"spill-{os.getpid()}.jsonl"

    def start(self) -> None:
        self._thread.start()

    def record(
        self,
        request_id: str,
        inputs: Sequence[Any],
        predictions: Sequence[float],
        model_version: str | None,
        received_at: dt.datetime,
    ) -> None:
        if len(inputs) != len(predictions):
            raise ValueError(f"{len(inputs)} listings but {len(predictions)} predictions")
        # Built in C (zip, repeat, count): no Python loop per row of a large request.
        rows = zip(
            itertools.repeat(request_id),
            itertools.count(),
            itertools.repeat(received_at),
            itertools.repeat(model_version),
            inputs,
            predictions,
        )
        self._buffer.extend(map(LoggedRow._make, rows))
        if len(self._buffer) > self._config.max_buffer_rows:
            self._wake.set()

    def backlog(self) -> int:
        """Rows not yet in the database: buffered in memory or spilled to disk."""
        return len(self._buffer) + self._in_flight + sum(_count_lines(p) for p in self._spill_files())

    def stop(self) -> None:
        """Write what is left (or spill it when the database is down); called on shutdown."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(self._config.shutdown_timeout_s)
        if self._thread.is_alive():
            logger.error("The inference log writer did not finish in time; buffered rows are spilled to disk.")
        if self._buffer:
            self._spill(len(self._buffer))
        if self._store is not None:
            self._store.dispose()

    # --- the writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        self._open_store()
        while not self._stopping.is_set():
            self._pause(self._config.flush_interval_s)
            self._retrying(self._flush_unless_stopping)
        self._flush()  # the last write, after a stop

    def _pause(self, seconds: float) -> None:
        """Wait `seconds`, woken early only to spill an overflowing buffer (the database waits for its turn),
        or by a stop."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self._wake.wait(left)
            self._wake.clear()
            self._spill_overflow()

    def _flush(self) -> bool:
        written = self._write_pending()
        self._on_backlog(self.backlog())
        return written

    def _flush_unless_stopping(self) -> bool:
        """The retried write; once a stop arrived (in a pause), the last write is `_run`'s own."""
        return self._stopping.is_set() or self._flush()

    def _write_pending(self) -> bool:
        """Write the buffer, then any spilled rows; False when the database refused."""
        while self._buffer:
            # Popped one by one (each pop is atomic), never iterated while requests append.
            self._in_flight = min(self._config.flush_rows, len(self._buffer))
            chunk = [self._buffer.popleft() for _ in range(self._in_flight)]
            written = self._insert(chunk)
            if not written:
                self._buffer.extendleft(reversed(chunk))
            self._in_flight = 0
            if not written:
                return False
        return self._replay_spilled()

    def _open_store(self) -> None:
        """Open the store as the worker starts: the first opening (imports, tables) holds the GIL long enough
        to stall, in the middle of traffic, every request of the worker. A database that is
        down is opened later, by the first write that finds it up."""
        try:
            self._store = Store(self._url)  # creates the table on a fresh database
        except Exception as exc:
            logger.warning("The inference log database is not reachable yet (%s); rows wait in memory.", exc)

    def _insert(self, rows: Sequence[LoggedRow]) -> bool:
        try:
            if self._store is None:
                self._store = Store(self._url)
            with self._store.engine.begin() as conn:
                insert_rows(conn, t.inference_log, COLUMNS, (row.values() for row in rows))
        except Exception as exc:  # any database error: keep the rows and try again later
            self._on_failure()
            logger.warning("Writing %d inference log rows failed (%s); retrying with backoff.", len(rows), exc)
            return False
        return True

    # --- spilling to disk -----------------------------------------------------------------------
    def _spill_overflow(self) -> None:
        excess = len(self._buffer) - self._config.max_buffer_rows
        if excess > 0:
            self._spill(excess)

    def _spill(self, count: int) -> None:
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        with self._spill_file.open("a") as fh:
            for _ in range(count):
                fh.write(self._buffer.popleft().to_json() + "\n")
        logger.warning("Spilled %d inference log rows to %s until the database answers.", count, self._spill_file)

    def _spill_files(self) -> list[Path]:
        """Rows waiting on disk: spilled, or being replayed by a worker."""
        return sorted(self._spill_dir.glob("*.jsonl")) if self._spill_dir.exists() else []

    def _claimable(self) -> list[Path]:
        """This worker's spill file, and any file of a worker that has exited (a restart, a crash).

        A live worker's file is left to that worker: it may be appending to it right now."""
        me = os.getpid()
        return [path for path in self._spill_files() if (pid := _owner(path)) == me or not _pid_alive(pid)]

    def _replay_spilled(self) -> bool:
        """Write spilled rows back; a file is claimed by an atomic rename, so only one worker replays it."""
        for path in self._claimable():
            claimed = self._spill_dir / f"replay-{os.getpid()}-{path.name.split('-')[-1]}"
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            failed = False
            with claimed.open() as fh:
                rows = (LoggedRow.from_json(line) for line in fh)
                for chunk in _chunks(rows, self._config.flush_rows):
                    if not self._insert(chunk):
                        # Back into memory in file order; an overflow spills them again next round.
                        self._buffer.extendleft(reversed([*chunk, *rows]))
                        failed = True
                        break
            claimed.unlink()
            if failed:
                return False
        return True


def _chunks(rows: Iterator[LoggedRow], size: int) -> Iterator[list[LoggedRow]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _owner(path: Path) -> int:
    """spill-<pid>.jsonl or replay-<pid>-<original pid>.jsonl: the pid of the worker writing it."""
    return int(path.stem.split("-")[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0
