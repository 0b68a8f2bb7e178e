"""A stop asked for by a signal (SIGTERM, Ctrl-C) ends the run, instead of ZenML retrying the step.

ZenML turns a signal inside a step into an exception and then retries the step like any failure (its
retry loop spares only RunStoppedException), so `kill` or Ctrl-C alone would restart the training. The
CLI installs `handle` before a run; ZenML's own handler calls it on the way out, so the request is
remembered, and the next stage to start raises RunStoppedException, which ZenML does not retry.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_requested: list[str] = []  # names of the signals received while `installed` is active


def requested() -> str | None:
    """The name of the signal that asked this process to stop, if one did."""
    return _requested[0] if _requested else None


def handle(signum: int, _frame: FrameType | None) -> None:
    if _requested and signum == signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C twice: stop now, whatever is running
    _requested.append(signal.Signals(signum).name)


def raise_if_requested() -> None:
    from zenml.exceptions import RunStoppedException

    name = requested()
    if name is not None:
        raise RunStoppedException(f"stopped by {name}")


@contextmanager
def installed() -> Iterator[Callable[[], str | None]]:
    """Within this block SIGTERM and SIGINT ask the run to stop; yields `requested`."""
    previous: dict[int, Any] = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    try:
        yield requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()
