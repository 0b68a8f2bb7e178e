"""What the benchmark scripts share: a command timed with its children's CPU, a service process started on a
free loopback port and stopped by its pid, a scratch PostgreSQL database, the inference log's row count, and the
section of BENCHMARKS.md a script rewrites. Run the scripts from the repository root as
`python -m benchmarks.<name>`."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


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


def spawn(command: list[str], env: dict[str, str], log: Path, cwd: Path, probe: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(probe, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"{command[:4]} did not become ready:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this script started (by its pid); SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def isolated_environment(folder: Path, tracking_uri: str, database_url: str) -> dict[str, str]:
    """This process's environment for a service kept under `folder`: its own HOME, BentoML and tasador homes,
    MLflow store and inference-log database."""
    return {
        **os.environ,
        "HOME": str(folder),
        "BENTOML_HOME": str(folder / "bentoml"),
        "TASADOR_HOME": str(folder / "tasador"),
        "TASADOR_DB_URL": database_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
    }


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


def logged_rows(database_url: str) -> int:
    """Rows in the service's inference log; 0 before the table exists (it appears with the first write)."""
    from sqlalchemy import create_engine, func, select

    from tasador.store import tables as t

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.inference_log)).scalar_one())
    except Exception:
        return 0
    finally:
        engine.dispose()


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (a service's workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table with one line per row, cells as given (formatted by the caller)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(text: str, title: str, path: Path) -> None:
    """Replace the Markdown section whose heading line starts with `title` (up to the next `## `) by `text`;
    append it when absent. The rest of the file stays as it is."""
    lines = path.read_text().splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(title)), None)
    if start is None:
        path.write_text("".join(lines).rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "\n" + "".join(lines[end:]) if end < len(lines) else ""
    path.write_text("".join(lines[:start]) + text.rstrip("\n") + "\n" + rest)
