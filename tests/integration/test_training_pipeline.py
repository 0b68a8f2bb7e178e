"""`python run.py --pipeline training` as a user runs it: the real ZenML pipeline on a fresh local stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasador.results import Turn
from tasador.store import Store

REPO = Path(__file__).resolve().parents[2]
#: What other tools print during a run (ZenML, Great Expectations, MLflow): the log file's, not the user's.
NOTICES = (
    "Ignoring settings key",
    "Created temporary directory",
    "Creating initial MLflow database tables",
    "UserWarning",
    "Downloading artifacts",
    "Setting the global active stack",
)

#: Prints `artifact=TypeName` for every output of the last training run's steps.
ARTIFACTS = """
from zenml.client import Client
run = Client().get_pipeline("training").last_run
for step in run.steps.values():
    for name, versions in step.outputs.items():
        print(f"{name}={type(versions[0].load()).__name__}")
"""


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_each_run_takes_the_next_batch_through_the_loop(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TASADOR_HOME": str(home), "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}
    # A fresh stack: mlflow.set_tracking_uri (any earlier test of this session) exports MLFLOW_TRACKING_URI,
    # which would point the runs at that test's registry and its production model.
    env.pop("MLFLOW_TRACKING_URI", None)
    applied = run("-v", "stack", "apply", "stacks/local.yaml", "--activate", env=env)
    assert "Setting the global active stack to default." in applied.stdout + applied.stderr  # -v shows notices

    first = run("--pipeline", "training", env=env)
    second = run("--pipeline", "training", env=env)

    # Quiet: the summary and the log file's name only; the notices are in that file.
    for result in (first, second):
        assert not [notice for notice in NOTICES if notice in result.stdout + result.stderr], result.stdout
        assert result.stderr == ""
    log = Path(first.stdout.split("Notices of other tools: ")[1].split()[0])
    assert log.parent == home / "logs" and "Created temporary directory" in log.read_text()
    assert "Batch 1 " in first.stdout and "retrain: no production model yet" in first.stdout
    # Piped, a line is never wrapped: the model's line holds its whole reason.
    assert "  model        version 1 promoted: no production model yet (challenger mdape " in first.stdout
    assert "Batch 2 " in second.stdout and "decision" in second.stdout
    # Production priced the second batch before its decision (tasador.monitoring.stage).
    assert "production   MdAPE" in second.stdout and "% on this batch" in second.stdout
    store = Store(f"sqlite:///{home / 'tasador.db'}")
    batches = store.batches()
    assert [(b.batch_number, b.status) for b in batches] == [(1, "done"), (2, "done")]
    for batch in batches:
        in_clean = store.count("clean_rows", batch.id)
        quarantined = sum(store.quarantine_counts(batch.id).values())
        assert in_clean + quarantined == batch.row_count == store.count("raw_rows", batch.id)
        report = store.report(batch.id)
        assert Path(report["html_path"]).is_file() and Path(report["json_path"]).is_file()
    assert len(store.decisions()) == 2

    # Each stage's typed result is a named artifact (the dashboard shows what it decided), by the names the plain
    # turn of the tests uses: the chain the tests exercise is the pipeline's.
    script = tmp_path / "artifacts.py"  # a file, not `-c`: ZenML takes its source root from the main module
    script.write_text(ARTIFACTS)
    artifacts = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert artifacts.returncode == 0, artifacts.stderr[-3000:]
    named = dict(line.split("=", 1) for line in artifacts.stdout.split())
    assert {name: named.get(name) for name in Turn.model_fields if name != "batch_id"} == {
        "data_report": "DataReport",
        "clean_summary": "CleanSummary",
        "decision": "RetrainDecision",
        "served": "ServedCheck",
        "training": "TrainingRun",
        "promotion": "Promotion",
        "explanation": "ShapSummary",
    }
    assert named["batch_summary"] == "BatchSummary"

    data_report = run("report", "data", env=env)
    assert str(home / "reports" / store.folder_name / "batch-000002" / "validation.html") in data_report.stdout
    models = run("report", "models", env=env)
    assert Path(models.stdout.split("HTML:")[1].strip()).is_file()
