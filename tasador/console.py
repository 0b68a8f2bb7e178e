"""The CLI's output: tasador's own lines on the terminal, every other tool's notices in a log file.

ZenML, MLflow, Great Expectations and the libraries under them write notices, warnings and progress bars to
stdout and stderr, from Python and from threads and processes they start; redirecting the process's file
descriptors 1 and 2 catches all of them, where silencing loggers one by one misses what prints directly. The
terminal keeps a descriptor of its own for tasador's console. `-v` (verbose) leaves both streams as they are.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

#: What a log file needs no more than a terminal: colour codes, and a progress bar per MLflow download.
LOG_FILE_ENVIRONMENT = {"ZENML_LOGGING_COLORS_DISABLED": "true", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}

#: Width of the label column of a summary line ("  decision     "): continuation lines start under the value.
LABEL_WIDTH = 15


@contextmanager
def routed_output(log_dir: Path, command: str, verbose: bool) -> Iterator[Console]:
    """A console on the terminal; within the block, the process's stdout and stderr go to a new log file."""
    if verbose:
        yield Console(soft_wrap=not sys.stdout.isatty(), highlight=False)
        return
    for key, value in LOG_FILE_ENVIRONMENT.items():  # read when ZenML is imported / MLflow downloads
        os.environ.setdefault(key, value)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{command}.log"
    sys.stdout.flush()
    sys.stderr.flush()
    terminal_fd = os.dup(1)
    saved_err = os.dup(2)
    with os.fdopen(terminal_fd, "w", buffering=1) as terminal, path.open("ab") as log:
        console = Console(file=terminal, soft_wrap=not terminal.isatty(), highlight=False)
        console.print(f"Notices of other tools: {short_path(path)} (-v: here)", soft_wrap=True)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(terminal.fileno(), 1)
            os.dup2(saved_err, 2)
            os.close(saved_err)


def short_path(path: str | Path) -> str:
    """`path` relative to the working directory when it lies under it (".tasador/reports/..."), else as is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def fit(lines: list[str], console: Console) -> str:
    """Summary lines wrapped at word boundaries to the terminal, continuations under the value column;
    unwrapped when the output is piped (a line per fact reads best in a file or through grep)."""
    if console.soft_wrap:
        return "\n".join(lines)
    width = max(console.width, LABEL_WIDTH + 30)
    return "\n".join(_wrapped(line, width) for line in lines)


def _wrapped(line: str, width: int) -> str:
    # A word longer than the value column (a path) stays whole, on its line: cut, it could not be copied.
    if max(map(len, line.split()), default=0) > width - LABEL_WIDTH:
        return line
    return textwrap.fill(line, width, subsequent_indent=" " * LABEL_WIDTH, break_on_hyphens=False)
