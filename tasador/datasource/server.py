"""The data API (the course contract) over a feed: the synthetic generator or a CSV.

`GET /data?group_number=N[&day=...]` hands out the group's next batch, HTTP 400 once none is left;
`GET /restart_data_generation?group_number=N` starts the group over; `GET /health`. The position of each
group is written to a JSON file in `state_dir` after every batch, so a restarted server carries on.
"""

# No `from __future__ import annotations` here: FastAPI must see the endpoints' annotations, which
# use a bound read from the config, as objects rather than names.
import json
import os
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tasador.datasource.feeds import Feed


class Positions:
    """Last batch handed out per group of one feed, kept in `state_dir/positions.json` (one entry per feed)."""

    def __init__(self, state_dir: Path, feed_name: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._path = state_dir / "positions.json"
        self._feed = feed_name
        self._lock = threading.Lock()
        self._all: dict[str, dict[str, int]] = json.loads(self._path.read_text()) if self._path.exists() else {}

    def advance(self, group: int, batch_count: int) -> int | None:
        """The next batch number of `group`, recorded as handed out; None when the group is exhausted."""
        with self._lock:
            mine = self._all.setdefault(self._feed, {})
            following = mine.get(str(group), 0) + 1
            if following > batch_count:
                return None
            mine[str(group)] = following
            self._save()
            return following

    def rewind(self, group: int, batch_number: int) -> None:
        """Take back a batch that could not be handed out (the next request gets it again)."""
        with self._lock:
            self._all.setdefault(self._feed, {})[str(group)] = batch_number - 1
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


def create_app(feed: Feed, state_dir: Path, options: dict[str, Any]) -> FastAPI:
    """The API for `feed`; `options` is the `server` section of configs/datasource.yaml."""
    positions = Positions(state_dir, feed.name)
    failures_left = [int(options.get("fail_first", 0))]
    slow_left, slow_s = [int(options.get("slow_first", 0))], float(options.get("slow_s", 0))
    Group = Annotated[int, Query(ge=1, le=int(options["max_group_number"]), description="Your group number.")]
    app = FastAPI(title="tasador data API", description="Batches of USA real-estate listings, per group.")
    too_large = {413: {"description": "The request is larger than `server.max_request_bytes`."}}
    # Documented so that clients (and the schemathesis test) know every answer the API may give.
    data_answers = {
        400: {"description": "The group has no batch left: GET /restart_data_generation starts it over."},
        503: {"description": "Temporarily unavailable (injected with `--fail-first`): retry."},
        **too_large,
    }

    @app.get("/data", responses=data_answers)
    def data(group_number: Group, day: str | None = None) -> dict[str, Any]:
        if failures_left[0] > 0:
            failures_left[0] -= 1  # injected for testing clients' retries (server.fail_first)
            raise HTTPException(503, "Temporarily unavailable (injected failure); try again.")
        batch_number = positions.advance(group_number, feed.batch_count)
        if batch_number is None:
            raise HTTPException(
                400,
                f"No data left for group {group_number}: all {feed.batch_count} batches were handed out. "
                f"GET /restart_data_generation?group_number={group_number} starts over.",
            )
        try:
            rows = feed.rows(group_number, batch_number)
        except Exception:
            positions.rewind(group_number, batch_number)
            raise
        if slow_left[0] > 0:
            # Injected for testing clients' timeouts (server.slow_first): slow after handing the batch out,
            # as a server busy building a large answer is, so a client that gives up loses that batch.
            slow_left[0] -= 1
            time.sleep(slow_s)
        return {"group_number": group_number, "day": day, "batch_number": batch_number, "data": rows}

    @app.get("/restart_data_generation", responses=too_large)
    def restart(group_number: Group, day: str | None = None) -> dict[str, Any]:
        positions.restart(group_number)
        return {"group_number": group_number, "day": day, "message": "Data generation restarted: batch 1 is next."}

    @app.get("/health", responses=too_large)
    def health() -> dict[str, Any]:
        return {"status": "ok", "feed": feed.name, "batches": feed.batch_count}

    app.add_middleware(RequestSizeLimit, max_bytes=int(options["max_request_bytes"]))
    return app


def serve(host: str, port: int, feed: Feed, state_dir: Path, options: dict[str, Any]) -> None:
    """Run the data API for `feed` until interrupted."""
    import uvicorn

    config = uvicorn.Config(
        create_app(feed, state_dir, options),
        host=host,
        port=port,
        log_level="warning",
        h11_max_incomplete_event_size=int(options["max_request_bytes"]),
    )
    uvicorn.Server(config).run()
