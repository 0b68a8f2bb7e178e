"""Batch scoring as users run it: `python run.py --pipeline batch-inference --input FILE` on a local ZenML
stack, against the same registered model a real `bentoml serve` answers /predict with."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine

from tasador.schema import FEATURE_COLUMNS
from tests.support.paths import REPO_ROOT
from tests.support.processes import Process
from tests.support.service import local_deployment


@pytest.fixture(scope="module")
def scoring_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Process]]:
    """A local store with a production model, and a service over it."""
    root = tmp_path_factory.mktemp("scoring")
    with local_deployment(root) as service:
        yield root, service


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "ZENML_CONFIG_PATH": str(root / "zenml"),
        "TASADOR_HOME": str(root / "home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "TASADOR_DB_URL": f"sqlite:///{root / 'scoring.db'}",
    }
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_batch_scoring_of_the_real_sample_prices_as_the_service_does(
    scoring_home: tuple[Path, Process], sample_csv: Path
) -> None:
    root, service = scoring_home
    applied = run_cli(root, "stack", "apply", "stacks/local.yaml", "--activate")
    assert applied.returncode == 0, applied.stderr
    scored = run_cli(root, "--pipeline", "batch-inference", "--input", str(sample_csv))
    assert scored.returncode == 0, scored.stdout + scored.stderr
    assert "of 10,000 rows priced by tasador-price version 1" in scored.stdout

    engine = create_engine(f"sqlite:///{root / 'scoring.db'}")
    with engine.connect() as conn:
        scoring = pd.read_sql("SELECT * FROM batch_scorings", conn).iloc[-1]
        rows = pd.read_sql(f"SELECT * FROM batch_predictions WHERE scoring_id = {scoring['id']}", conn)
    engine.dispose()
    sample = pd.read_csv(sample_csv, dtype={"prev_sold_date": str})
    assert scoring["rows"] == len(sample) == len(rows) and scoring["model_version"] == "1"
    assert scoring["input_sha256"] and scoring["input_uri"] == str(sample_csv.resolve())
    assert sorted(rows["source_row"]) == list(range(len(sample)))  # every row, priced or with its reason
    assert rows["price"].isna().eq(rows["reason"].notna()).all()

    priced = rows[rows["price"].notna()].sort_values("source_row")
    listings = [_listing(record) for record in sample.iloc[priced["source_row"]].to_dict("records")]
    served: list[float] = []
    for start in range(0, len(listings), 1000):
        answer = httpx.post(service.url + "/predict", json={"listings": listings[start : start + 1000]}, timeout=60)
        assert answer.status_code == 200, answer.text
        served += answer.json()["prices"]
    np.testing.assert_allclose(priced["price"].to_numpy(), served, rtol=1e-5)


def _listing(record: dict) -> dict:
    """A CSV row as a client would send it to /predict: the features, missing values as null."""
    return {c: None if isinstance(record[c], float) and math.isnan(record[c]) else record[c] for c in FEATURE_COLUMNS}
