"""A reload signal every worker of one service sees: a file under the service's home, replaced on each signal.

An HTTP call (the registry's webhook, POST /admin/reload) reaches one worker; the model lives in each.
The worker that got the call replaces the file; every worker's watcher stats it every `check_s` (a
system call, no registry request) and checks the alias when it changed. Replacing (not rewriting) gives
the file a new inode, so two signals within the clock's resolution still read as a change.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SIGNAL_FILE = "reload-signal"


class ReloadSignal:
    def __init__(self, folder: Path) -> None:
        self.path = folder / SIGNAL_FILE
        self._seen = self._stamp()

    def raise_(self, why: str) -> None:
        """Ask every worker to check the alias now; `why` is kept in the file for whoever looks."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".reload-")
        with os.fdopen(fd, "w") as out:
            out.write(why)
        os.replace(tmp, self.path)

    def changed(self) -> bool:
        """True once per signal raised since the last call (or since this worker started)."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns
