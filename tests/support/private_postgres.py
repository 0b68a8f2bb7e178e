"""A PostgreSQL cluster of a test's own (initdb into a temporary folder, pg_ctl on a free loopback port),
so the test can stop and restart the database without disturbing anyone else's."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.waiting import free_port

#: PostgreSQL refuses to run as root; a root test process runs the cluster as this user instead.
CLUSTER_USER = "postgres"
PG_CTL_TIMEOUT_S = 120  # a start or stop on a busy 2-core machine


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@dataclass
class PrivatePostgres:
    bindir: Path
    root: Path
    port: int
    run_as: list[str]  # a prefix running the binaries as a non-root user, or nothing

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self.run_as, *args], capture_output=True, text=True, timeout=PG_CTL_TIMEOUT_S + 30, cwd=self.root
        )
        if result.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} {args[1:3]} failed: {result.stdout}{result.stderr}\n{tail}")

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        # Only loopback TCP, its unix socket in its own folder; no fsync: the data lives as long as the test.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.root / "postgres.log"),
            "-o", options, "-w", "-t", str(PG_CTL_TIMEOUT_S), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: signals the postmaster whose pid is in this cluster's postmaster.pid."""
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "-t", str(PG_CTL_TIMEOUT_S), "stop"
        )

    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()


def _cluster_user_prefix() -> tuple[list[str], int | None]:
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam(CLUSTER_USER).pw_uid
    except KeyError:
        pytest.skip(f"running as root and no '{CLUSTER_USER}' user to run a private PostgreSQL as")
    return ["runuser", "-u", CLUSTER_USER, "--"], uid


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster; stopped (by pg_ctl) and deleted when the module is done."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("initdb/pg_ctl not found (Debian: apt-get install postgresql)")
    run_as, uid = _cluster_user_prefix()
    # Not under pytest's tmp_path: that is private to root, and the cluster may run as another user.
    root = Path(tempfile.mkdtemp(prefix="tasador-pg-"))
    if uid is not None:
        os.chown(root, uid, -1)
    cluster = PrivatePostgres(bindir, root, free_port(), run_as)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
