"""A warm interpreter for Airflow's tasks: ZenML, its store and stack and the pipeline started once, each step a fork.

A cold `python -m zenml.entrypoints.entrypoint ...` spends most of a small step's time starting Python and
importing ZenML, MLflow, pandas, SciPy and the steps, and starting ZenML's store (BENCHMARKS.md, orchestrators).
The first task of a DAG run starts this server (tasador/services/airflow_dag.py); it does all that once, then
for every task forks a child that runs the step's entrypoint with the task's argv, environment and working
directory, its output on the pipe the task sent along, so the task's log is the step's. The child is a separate process,
as a cold one would be: a crash or a kill fails that task alone, and Airflow retries it. The server exits
after `idle_exit_s` without a task, so a new DAG run (new code, new stack) starts a fresh one.

Protocol, one connection per task: the task sends one JSON line {"argv", "env", "cwd", "name"} with the
write end of its output pipe attached (SCM_RIGHTS); the server answers `pid <n>` once the child runs,
then `exit <code>` when it ends (a negative code: killed by that signal).

    python -m tasador.services.step_server --socket PATH [--idle-exit-s 120]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import io
import logging
import os
import runpy
import socket
import sys
import threading
import traceback

from pydantic import BaseModel, ConfigDict

#: Imported before the first fork: what every step's process would import on its own.
PRELOAD = (
    "zenml.entrypoints.entrypoint",
    "zenml.entrypoints.step_entrypoint_configuration",
    "zenml.client",
    "zenml.integrations.s3.artifact_stores",
    "zenml.integrations.mlflow.experiment_trackers",
    "zenml.orchestrators.step_launcher",
    "zenml.deployers.server.runtime",
    "pipelines.training",
)
_PR_SET_NAME = 15  # prctl option: the process name `ps` and psutil show


def serve(socket_path: str, idle_exit_s: float) -> None:
    from zenml.integrations.registry import integration_registry

    for module in PRELOAD:
        importlib.import_module(module)
    # What every step entrypoint does first (imports only: flavors, materializers); its children find it done.
    integration_registry.activate_integrations()
    _warm_zen_store()
    if os.path.exists(socket_path):
        os.unlink(socket_path)  # the starter holds a lock: a socket here is a dead server's
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen()
    server.settimeout(idle_exit_s)
    running: set[int] = set()
    print(f"step server {os.getpid()} ready on {socket_path}", flush=True)
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                if running:
                    continue
                print(f"step server {os.getpid()}: idle for {idle_exit_s:.0f} s, exiting", flush=True)
                return
            conn.settimeout(None)
            _start_step(server, conn, running)
    finally:
        server.close()
        if os.path.exists(socket_path):
            os.unlink(socket_path)


def _warm_zen_store() -> None:
    """Start ZenML's client, its SQL store and the active stack here, once, rather than in every step's fork.

    Starting the store (its schemas' imports, SQLAlchemy's mappers, the database's migration check and default
    project) was most of a small step's cost outside the step (BENCHMARKS.md, orchestrators); the forks inherit
    the started client, as `Client()` is one per process. A database connection must not
    be shared by forked processes (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()"):
    the engine's pool is emptied before the first fork, and this process does not use the store again, so
    each fork opens connections of its own. A REST store (a ZenML server) is left to each fork: its HTTP
    session would be shared the same way.
    """
    from sqlalchemy.orm import configure_mappers
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.enums import StoreType
    from zenml.zen_stores.sql_zen_store import SqlZenStore

    if GlobalConfiguration().store_configuration.type != StoreType.SQL:
        return
    client = Client()
    store = client.zen_store
    configure_mappers()
    # The stack's components and their flavors are imported here rather than in every fork. Only the store is
    # read (the stack and its secrets; its pool is emptied below); S3 and MLflow are first reached in a fork.
    _ = client.active_stack
    if isinstance(store, SqlZenStore):
        store.engine.dispose()


def _start_step(server: socket.socket, conn: socket.socket, running: set[int]) -> None:
    try:
        request, output = _receive(conn)
    except (OSError, ValueError) as exc:
        print(f"step server: bad request ({exc})", flush=True)
        conn.close()
        return
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        server.close()
        conn.close()
        _run_child(request, output)  # never returns
    os.close(output)
    running.add(pid)
    conn.sendall(f"pid {pid}\n".encode())
    threading.Thread(target=_report_exit, args=(conn, pid, running), daemon=True).start()


class StepRequest(BaseModel):
    """The one JSON line a task sends (tasador/services/airflow_dag.py writes it)."""

    model_config = ConfigDict(extra="forbid")

    argv: list[str]
    env: dict[str, str]
    cwd: str
    name: str


def _receive(conn: socket.socket) -> tuple[StepRequest, int]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 1)
    if len(fds) != 1:
        raise ValueError("no output pipe attached")
    while not data.endswith(b"\n"):
        more = conn.recv(1 << 20)
        if not more:
            raise ValueError("request cut short")
        data += more
    return StepRequest.model_validate_json(data), fds[0]  # ValidationError is a ValueError


def _run_child(request: StepRequest, output: int) -> None:
    code = 1
    try:
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):  # the interpreter's own streams are; a replaced one may not be
                stream.reconfigure(line_buffering=True)
        _set_process_name(request.name)
        _log_decisions()
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        argv = request.argv
        if argv[1:2] != ["-m"]:
            raise ValueError(f"only `python -m MODULE ...` commands are served, not {argv[:3]}")
        sys.argv = [argv[2], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _log_decisions() -> None:
    """The steps' "… decided: …" lines (steps/context.py, INFO) into the task's log, whatever ZenML's verbosity."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    steps_log = logging.getLogger("steps")
    steps_log.setLevel(logging.INFO)
    steps_log.addHandler(handler)
    steps_log.propagate = False


def _set_process_name(name: str) -> None:
    """`ps` shows the step's name for the child (its command line is the server's)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _report_exit(conn: socket.socket, pid: int, running: set[int]) -> None:
    _, status = os.waitpid(pid, 0)
    running.discard(pid)
    try:
        conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
    except OSError:
        pass  # the task went away (killed): nobody to tell
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="path of the unix socket to listen on")
    parser.add_argument("--idle-exit-s", type=float, default=120, help="exit after this long without a task")
    args = parser.parse_args()
    serve(args.socket, args.idle_exit_s)


if __name__ == "__main__":
    main()
