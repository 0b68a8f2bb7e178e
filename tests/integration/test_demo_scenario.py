"""The demo scenario through 24 batches: each drift episode is answered by at most two trainings, one promoted.

Inflation from batch 6, the size shift from batch 11, a new state from batch 16 (configs/datasource.yaml
`demo`). Before the decisions of issue 18, drift flagged at batch 10 retrained every batch after it (15
trainings in 15 batches, 13 rejected). Runs tasador.loop directly on the embedded local stores.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasador.data_api.generator import generator_from_config
from tasador.history import report_models
from tasador.results import FetchedBatch
from tasador.schema import Batch
from tasador.settings import Settings
from tasador.store import Store
from tests.support.turn import run_batch

EPISODES = {"inflation": range(6, 11), "size shift": range(11, 16), "new state": range(16, 25)}


@pytest.mark.long
def test_each_drift_episode_gets_at_most_two_trainings_and_a_promotion(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'tasador.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    store = Store(settings.database_url)
    source = Settings().configs.datasource
    generator = generator_from_config(source, scenario="demo")
    outcomes: dict[int, tuple[bool, str | None, str]] = {}
    for number in range(1, 25):
        frame = generator.batch(1, number, source.generator.batch_size)
        rows = frame.astype(object).where(pd.notna(frame), None).to_dict("records")
        result = run_batch(store, settings, FetchedBatch(batch=Batch("demo", 1, number, rows)))
        outcomes[number] = (result.decision.retrain, result.promotion.outcome, str(result.decision.reason))
        print(f"batch {number}: {outcomes[number]}")

    assert [n for n in range(1, 6) if outcomes[n][0]] == [1]  # stationary: only the first model
    for episode, batches in EPISODES.items():
        trainings = [n for n in batches if outcomes[n][0]]
        promoted = [n for n in trainings if outcomes[n][1] == "promoted"]
        assert 1 <= len(trainings) <= 2, (episode, trainings, [outcomes[n][2] for n in batches])
        assert promoted, (episode, trainings, [outcomes[n][1:] for n in trainings])

    # The history report shows it: every batch with its decision, every retrained version with what changed.
    markdown = report_models(settings, out_dir=tmp_path / "report")[0].read_text()
    batch_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "| demo |" in line]
    assert len(batch_rows) == 24
    assert sum("production's error rose" in line or "drift in " in line for line in batch_rows) >= 10
    assert "what it fixed" in markdown and "→" in markdown.split("## Model versions")[1]
