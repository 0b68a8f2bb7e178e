"""The CLI's output: tasador's lines on the terminal, other tools' in the log file; lines that fit or stay whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from tasador.console import fit
from tests.support.paths import REPO_ROOT

ROUTED = """
import os, subprocess, sys, warnings
from pathlib import Path
from tasador.console import routed_output
with routed_output(Path(sys.argv[1]), "training", verbose=False) as console:
    print("a notice printed by a library")
    warnings.warn("a library's warning")
    subprocess.run(["echo", "a line from a child process"], check=True)
    console.print("Batch 1 summary")
print("after the block")
"""


def test_other_tools_output_goes_to_the_log_and_tasadors_to_the_terminal(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    done = subprocess.run(
        [sys.executable, "-c", ROUTED, str(logs)], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    shown = done.stdout + done.stderr
    assert "Batch 1 summary" in shown and "after the block" in shown
    for noise in ("a notice printed by a library", "a library's warning", "a line from a child process"):
        assert noise not in shown
    (log,) = logs.iterdir()
    assert shown.count(f"Notices of other tools: {log}") == 1  # its path, once
    written = log.read_text()
    assert "a notice printed by a library" in written and "a line from a child process" in written
    assert "a library's warning" in written


SUMMARY = [
    "  decision     no retraining: no drift and only 998 new rows since the last training (< 20,000)",
    "  data report  .tasador/reports/sqlite-tasador-06e69a2a/batch-000010/validation.html",
]


def test_a_terminal_gets_lines_wrapped_at_words_under_their_value() -> None:
    shown = fit(SUMMARY, Console(width=80, force_terminal=True)).splitlines()
    assert shown[:2] == [
        "  decision     no retraining: no drift and only 998 new rows since the last",
        "               training (< 20,000)",
    ]
    assert shown[2] == SUMMARY[1]  # a path is never cut


def test_piped_lines_stay_whole() -> None:
    assert fit(SUMMARY, Console(width=80, soft_wrap=True)).splitlines() == SUMMARY
