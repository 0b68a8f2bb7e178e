"""An ASGI middleware in front of the API: refuses oversized bodies (413) and times every request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int, routes: Iterable[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        metrics = scope["app"].state.runtime.metrics
        endpoint = scope["path"] if scope["path"] in self.routes else "other"
        try:
            declared = dict(scope["headers"]).get(b"content-length")
            if declared is not None:
                if not declared.isdigit() or int(declared) > self.max_body_bytes:
                    await self._refuse(send, metrics)
                    return
            elif scope["method"] in ("POST", "PUT", "PATCH"):
                # A chunked body has no declared length: read it here, up to the limit.
                body = await self._read_up_to_limit(receive)
                if body is None:
                    await self._refuse(send, metrics)
                    return
                receive = _replay(body)
            await self.app(scope, receive, send)
        finally:
            metrics.request_duration.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    async def _read_up_to_limit(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _refuse(self, send: Send, metrics: Any) -> None:
        metrics.errors.labels(kind="too_large").inc()
        await _too_large(send, self.max_body_bytes)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _too_large(send: Send, limit: int) -> None:
    payload: dict[str, Any] = {
        "error": "too_large",
        "message": f"The body is larger than {limit} bytes; send fewer listings per request.",
        "fields": [],
    }
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
