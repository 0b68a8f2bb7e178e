"""A server a test starts: its own process group on a loopback port, ready once it answers, stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.paths import REPO_ROOT
from tests.support.waiting import wait_until

START_TIMEOUT_S = 300.0  # generous: cold imports on a loaded 2-core machine take minutes


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM to the process group this fixture started (by its pid), then SIGKILL if needed."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def spawn(
    command: list[str], env: dict[str, str], log: Path, url: str, probe: str, timeout_s: float = START_TIMEOUT_S
) -> Process:
    """Start `command` from the repository root, its output in `log`; return once `url + probe` answers
    (any status below 500). RuntimeError with the log's end when it exits first or does not answer in time."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    process = Process(proc, url, log)
    # `python -m NAME ...` is named by its module; a binary by its file name.
    name = " ".join(command[2:4]) if command[1:2] == ["-m"] else Path(command[0]).name

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{process.tail()}")
        try:
            return httpx.get(url + probe, timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, timeout_s, f"{name} to answer", every_s=0.5)
    except AssertionError:
        process.stop()
        raise RuntimeError(f"{name} did not answer within {timeout_s:.0f} s:\n{process.tail()}") from None
    return process
