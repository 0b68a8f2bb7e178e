"""Background processes tracked by pid files: start detached, find again, stop by their own pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil


class ServiceStartError(RuntimeError):
    """A service did not come up; the message carries the end of its log."""


def pid_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.pid"


def log_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.log"


def start_process(name: str, argv: Sequence[str], env: Mapping[str, str], state_dir: Path) -> int:
    """Start `argv` in its own session (so stopping it takes its workers too) and record its pid."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with log_file(state_dir, name).open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    # create_time guards against a recycled pid being taken for ours after a reboot.
    record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(), "argv": list(argv)}
    pid_file(state_dir, name).write_text(json.dumps(record))
    return proc.pid


def running_pid(state_dir: Path, name: str) -> int | None:
    """The pid of the service when its recorded process is still alive; a stale pid file is removed."""
    path = pid_file(state_dir, name)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    pid = int(record["pid"])
    if _alive(pid, record.get("create_time")):
        return pid
    path.unlink(missing_ok=True)
    return None


def stop_process(state_dir: Path, name: str, timeout_s: float) -> bool:
    """SIGTERM the service's process group, SIGKILL it after `timeout_s`; False when it was not running."""
    pid = running_pid(state_dir, name)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    pid_file(state_dir, name).unlink(missing_ok=True)
    return True


def wait_until(ready: Callable[[], bool], *, name: str, label: str, state_dir: Path, timeout_s: float) -> None:
    """Poll `ready` until it holds. On failure the service `name` is stopped and its log's tail reported."""
    pid = running_pid(state_dir, name)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if pid is None or not _alive(pid):
            raise ServiceStartError(f"{label} exited during start-up. {_log_tail(state_dir, name)}")
        time.sleep(0.25)
    stop_process(state_dir, name, timeout_s=5)
    raise ServiceStartError(
        f"{label} did not become ready within {timeout_s:.0f} s and was stopped; on a busy machine raise "
        f"timeouts.start_s in configs/services.yaml. {_log_tail(state_dir, name)}"
    )


def _alive(pid: int, create_time: float | None = None) -> bool:
    _reap(pid)
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except psutil.NoSuchProcess:
        return False


def _reap(pid: int) -> None:
    # When this process started the service (tests, `services up` in one session), collect its exit status.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The service is its own session leader: its process group id is its pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _log_tail(state_dir: Path, name: str, lines: int = 15) -> str:
    path = log_file(state_dir, name)
    if not path.exists():
        return f"No log at {path}."
    tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return f"Last lines of {path}:\n{tail}"
