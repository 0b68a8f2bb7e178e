"""What the benchmark scripts share: a command timed with its children's CPU, a service process started on a
free loopback port and stopped by its pid, one wait, hey's fixed-rate and batch runs, a scratch PostgreSQL
database, the inference log's row count, Markdown tables and the section of BENCHMARKS.md a script rewrites.
Run the scripts from the repository root as `python -m benchmarks.<name>`."""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

#: A cold service loading its model on a busy machine.
SPAWN_TIMEOUT_S = 600


def arguments(doc: str, write: str | None = None) -> argparse.ArgumentParser:
    """A script's command line: its docstring's first line as the description, and `--write` (help `write`)
    when the script puts its section into BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if write is not None:
        parser.add_argument("--write", action="store_true", help=write)
    return parser


def run_timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the child process tree, its output); raises with the output's tail when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-4000:]}"
        )
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    """Poll `condition` until it returns something truthy, and return that; TimeoutError naming `what` after
    `timeout_s`. `condition` may raise to stop the wait at once (a process that exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def spawn(command: list[str], env: dict[str, str], log: Path, cwd: Path, probe: str) -> subprocess.Popen[bytes]:
    """Start `command` in a process group of its own, logging to `log`; return once `probe` answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(probe, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, SPAWN_TIMEOUT_S, f"{command[:4]} to answer {probe}")
    except TimeoutError:
        stop(proc)
        raise RuntimeError(f"{command[:4]} did not become ready:\n{log.read_text()[-3000:]}") from None
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this script started (by its pid); SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def drop_database(url: str, admin_database: str = "postgres") -> None:
    """Drop the database `url` names, closing its open sessions first (PostgreSQL 13+)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database=admin_database), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Latencies:
    """Answers of one fixed-rate or batch run: latencies of the 2xx answers, the rate actually sent."""

    seconds: list[float]
    errors: int
    achieved_rps: float

    def pct(self, q: float) -> float:
        return float(np.percentile(self.seconds, q)) * 1000 if self.seconds else float("nan")


def hey_run(url: str, body: Path, *, connections: int, duration_s: float | None = None,
            requests: int | None = None, rate: float | None = None) -> Latencies:  # fmt: skip
    """hey with per-request output: latencies of 2xx answers and the rate it managed to send.

    hey's `-q` is per worker and a worker waits for its answer before the next request, so a slow
    service lowers the rate sent: the achieved rate says whether the target rate was held.
    """
    command = _hey(body, connections)
    command += ["-z", f"{duration_s}s"] if duration_s is not None else ["-n", str(requests)]
    if rate is not None:
        command += ["-q", f"{rate / connections:.4f}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return _hey_latencies(list(csv.DictReader(io.StringIO(result.stdout))), duration_s)


def hey_even(url: str, body: Path, *, connections: int, duration_s: float, rate: float) -> Latencies:
    """`rate` requests/s evenly spaced: `connections` hey processes of one connection each, started 1/rate
    apart. One hey with `-c connections` starts its workers' tickers together, so every connection sends at
    the same instant: bursts of `connections` requests (8 at once every 40 ms at 200/s), whose queueing
    made most of the p50 (configs/serving.yaml, `rate_spacing`)."""
    command = [*_hey(body, 1), "-z", f"{duration_s}s", "-q", f"{rate / connections:.4f}", url]
    procs = []
    for _ in range(connections):
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(1 / rate)
    answers: list[dict[str, str]] = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, command, out, err)
        answers += csv.DictReader(io.StringIO(out))
    return _hey_latencies(answers, duration_s)


def _hey(body: Path, connections: int) -> list[str]:
    """hey POSTing `body` as JSON over `connections` connections, one CSV line per request."""
    return ["hey", "-c", str(connections), "-m", "POST", "-T", "application/json", "-D", str(body), "-o", "csv"]


def _hey_latencies(answers: list[dict[str, str]], duration_s: float | None) -> Latencies:
    ok = [float(a["response-time"]) for a in answers if a["status-code"].startswith("2")]
    span = duration_s if duration_s is not None else max((float(a["offset"]) for a in answers), default=0.0)
    return Latencies(ok, len(answers) - len(ok), len(answers) / span if span else float("nan"))


@contextmanager
def scratch_postgres(admin_url: str, prefix: str, connect_timeout_s: int | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database next to `admin_url`'s, dropped (forcefully) afterwards; yields its URL.

    Raises SQLAlchemy's OperationalError before yielding when the server does not answer.
    """
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connect_args = {"connect_timeout": connect_timeout_s} if connect_timeout_s else {}
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args=connect_args)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        raise
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table with one line per row, cells as given (formatted by the caller)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(text: str, title: str, path: Path) -> None:
    """Replace the Markdown section whose heading line starts with `title` by `text`; append it when absent.

    The generated part ends at the next `## ` or `### ` heading: the hand-written subsections under it (earlier
    runs, experiments) and the rest of the file stay as they are."""
    lines = path.read_text().splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(title)), None)
    if start is None:
        path.write_text("".join(lines).rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "### "))), len(lines))
    rest = "\n" + "".join(lines[end:]) if end < len(lines) else ""
    path.write_text("".join(lines[:start]) + text.rstrip("\n") + "\n" + rest)
