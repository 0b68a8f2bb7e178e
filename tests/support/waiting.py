"""The one wait of the tests, and free loopback ports for the servers they start."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every_s: float = 0.2) -> Any:
    """Poll `condition` until it returns something truthy, and return that; AssertionError naming `what` after
    `timeout` seconds. `condition` may raise to stop the wait at once (a process that exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
