"""The data API (the course contract) over a feed: the synthetic generator or a CSV.

`GET /data?group_number=N[&day=...]` hands out the group's next batch, HTTP 400 once none is left;
`GET /restart_data_generation?group_number=N` starts the group over; `GET /health`. The position of each
group is written to a JSON file in `state_dir` after every batch, so a restarted server carries on.

It rehearses what the course's own data APIs do (`server` in configs/datasource.yaml, or `datasource serve`
options): batches numbered from 0 (`first_batch`), time windows inside which every call answers the same
batch number with another seeded portion of its rows (`window_s`), rows as arrays of text (`rows_as_lists`).
"""

# No `from __future__ import annotations` here: FastAPI must see the endpoints' annotations, which
# use a bound read from the config, as objects rather than names.
import json
import math
import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tasador.configs import ServerOptions
from tasador.data_api.feeds import Feed, Row
from tasador.schema import COLUMNS


@dataclass(frozen=True)
class Handout:
    """What one /data request gets: batch `batch` (1 .. batch_count) and, inside a time window, which call."""

    batch: int
    portion: int  # 0 for the call that opened the batch's window, 1, 2, ... for the calls after it inside it


class Positions:
    """Where each group of one feed stands, kept in `state_dir/positions.json` (one entry per feed).

    Without a window every request moves the group on to its next batch. With a window of `window_s` seconds
    (the course's server has one, `MIN_UPDATE_TIME`), the group moves on only once the window has passed since
    its batch was first handed out; every call inside the window gets another portion of the same batch.
    """

    def __init__(self, state_dir: Path, feed_name: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._path = state_dir / "positions.json"
        self._feed = feed_name
        self._lock = threading.Lock()
        self._all: dict[str, dict[str, Any]] = json.loads(self._path.read_text()) if self._path.exists() else {}

    def advance(self, group: int, batch_count: int, window_s: float = 0, now: float = 0) -> Handout | None:
        """What this request of `group` gets, recorded as handed out; None when the group is exhausted."""
        with self._lock:
            mine = self._all.setdefault(self._feed, {})
            entry = _entry(mine.get(str(group)))
            if entry["batch"] and window_s > 0 and now - entry["window_started"] < window_s:
                entry["portion"] += 1
            else:
                if entry["batch"] + 1 > batch_count:
                    return None
                entry = {"batch": entry["batch"] + 1, "window_started": now, "portion": 0}
            mine[str(group)] = entry
            self._save()
            return Handout(entry["batch"], entry["portion"])

    def rewind(self, group: int, handout: Handout) -> None:
        """Take back what could not be handed out: the next request gets that batch (or portion) again."""
        with self._lock:
            mine = self._all.setdefault(self._feed, {})
            entry = _entry(mine.get(str(group)))
            if handout.portion > 0:
                entry["portion"] = handout.portion - 1
            else:
                entry = {"batch": handout.batch - 1, "window_started": 0.0, "portion": 0}
            mine[str(group)] = entry
            self._save()

    def restart(self, group: int) -> None:
        with self._lock:
            self._all.setdefault(self._feed, {}).pop(str(group), None)
            self._save()

    def _save(self) -> None:
        # Write then rename: a server killed mid-write leaves the previous file, never half of one.
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._all, indent=1))
        os.replace(tmp, self._path)


def _entry(saved: Any) -> dict[str, Any]:
    """A group's saved position; a bare number is the last batch handed out (as earlier servers kept it)."""
    if isinstance(saved, dict):
        return dict(saved)
    return {"batch": int(saved or 0), "window_started": 0.0, "portion": 0}


def portion_rows(rows: list[Row], share: float, seed: list[int]) -> list[Row]:
    """A seeded random part of a batch's rows, in the batch's order (what a windowed server answers)."""
    if not rows:
        return rows
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(rows), size=max(1, math.ceil(share * len(rows))), replace=False))
    return [rows[i] for i in picked]


def as_lists(rows: list[Row]) -> list[list[str]]:
    """Rows as arrays of text in the feed's column order, "" for a missing value (as some course APIs send)."""
    return [["" if row.get(column) is None else str(row[column]) for column in COLUMNS] for row in rows]


class RequestSizeLimit:
    """Answers 413 to requests whose target or declared body exceeds `max_bytes` (before any parsing)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope["headers"]).get(b"content-length", b"0")
            target = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
            if not declared.isdigit() or int(declared) + target > self.max_bytes:
                response = JSONResponse(
                    {"detail": f"Request larger than {self.max_bytes} bytes: the data API takes short GET requests."},
                    status_code=413,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(feed: Feed, state_dir: Path, options: ServerOptions) -> FastAPI:
    """The API for `feed`; `options` is the `server` section of configs/datasource.yaml."""
    positions = Positions(state_dir, feed.name)
    first_batch = int(options.first_batch)
    window_s, portion_share = float(options.window_s), float(options.window_portion_share)
    rows_as_lists = bool(options.rows_as_lists)
    seed = zlib.crc32(feed.name.encode())  # portions differ between feeds, and repeat for the same one
    failures_left = [options.fail_first]
    slow_left, slow_s = [options.slow_first], options.slow_s
    Group = Annotated[int, Query(ge=1, le=int(options.max_group_number), description="Your group number.")]
    app = FastAPI(title="tasador data API", description="Batches of USA real-estate listings, per group.")
    too_large: dict[int | str, dict[str, Any]] = {
        413: {"description": "The request is larger than `server.max_request_bytes`."}
    }
    # Documented so that clients (and the schemathesis test) know every answer the API may give.
    data_answers: dict[int | str, dict[str, Any]] = {
        400: {"description": "The group has no batch left: GET /restart_data_generation starts it over."},
        503: {"description": "Temporarily unavailable (injected with `--fail-first`): retry."},
        **too_large,
    }

    @app.get("/data", responses=data_answers)
    def data(group_number: Group, day: str | None = None) -> dict[str, Any]:
        if failures_left[0] > 0:
            failures_left[0] -= 1  # injected for testing clients' retries (server.fail_first)
            raise HTTPException(503, "Temporarily unavailable (injected failure); try again.")
        handout = positions.advance(group_number, feed.batch_count, window_s, time.time())
        if handout is None:
            raise HTTPException(
                400,
                f"No data left for group {group_number}: all {feed.batch_count} batches were handed out. "
                f"GET /restart_data_generation?group_number={group_number} starts over.",
            )
        try:
            rows = feed.rows(group_number, handout.batch)
            if window_s > 0:
                rows = portion_rows(rows, portion_share, [seed, group_number, handout.batch, handout.portion])
        except Exception:
            positions.rewind(group_number, handout)
            raise
        if slow_left[0] > 0:
            # Injected for testing clients' timeouts (server.slow_first): slow after handing the batch out,
            # as a server busy building a large answer is, so a client that gives up loses that batch.
            slow_left[0] -= 1
            time.sleep(slow_s)
        return {
            "group_number": group_number,
            "day": day,
            "batch_number": handout.batch - 1 + first_batch,
            "data": as_lists(rows) if rows_as_lists else rows,
        }

    @app.get("/restart_data_generation", responses=too_large)
    def restart(group_number: Group, day: str | None = None) -> dict[str, Any]:
        positions.restart(group_number)
        return {
            "group_number": group_number,
            "day": day,
            "message": f"Data generation restarted: batch {first_batch} is next.",
        }

    @app.get("/health", responses=too_large)
    def health() -> dict[str, Any]:
        return {"status": "ok", "feed": feed.name, "batches": feed.batch_count}

    app.add_middleware(RequestSizeLimit, max_bytes=int(options.max_request_bytes))
    return app


def serve(host: str, port: int, feed: Feed, state_dir: Path, options: ServerOptions) -> None:
    """Run the data API for `feed` until interrupted."""
    import uvicorn

    config = uvicorn.Config(
        create_app(feed, state_dir, options),
        host=host,
        port=port,
        log_level="warning",
        h11_max_incomplete_event_size=int(options.max_request_bytes),
    )
    uvicorn.Server(config).run()
