"""The quality goals on the real sample: R²(log) ≥ 0.65 and MdAPE ≤ 25 % (benchmarks/quality.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.quality import quality

R2_LOG_GOAL = 0.65
MDAPE_GOAL = 25.0


@pytest.mark.slow
@pytest.mark.long
def test_challenger_meets_the_quality_goals_on_the_real_sample(sample_csv: Path) -> None:
    results = quality(sample_csv)
    challenger = results["challenger"]

    assert challenger["r2_log"] >= R2_LOG_GOAL
    assert challenger["mdape"] <= MDAPE_GOAL
    assert challenger["r2_log"] > results["plain_xgboost"]["r2_log"]
    assert challenger["mdape"] < results["baseline"]["mdape"]
