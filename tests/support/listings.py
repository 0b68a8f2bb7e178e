"""Small clean listing frames with a known price structure, and a quick training config for tests."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from tasador.configs import ModelConfig
from tasador.settings import Settings

# Price level per state: the model should learn California > Texas > Ohio.
STATE_LEVEL = {"California": 3.0, "Texas": 1.3, "Ohio": 0.7}
ZIPS_PER_STATE = 12
ZIP_PREFIX = {"California": "94", "Texas": "75", "Ohio": "43"}


def clean_listings(rows: int, seed: int = 0) -> pd.DataFrame:
    """Clean-typed listings (the 12 columns, raw_row_id and row_hash): price ≈ state × zip × size^0.8."""
    rng = np.random.default_rng(seed)
    states = np.array(list(STATE_LEVEL))[rng.integers(0, len(STATE_LEVEL), rows)]
    zip_index = rng.integers(0, ZIPS_PER_STATE, rows)
    zips = np.array([f"{ZIP_PREFIX[s]}{i:03d}" for s, i in zip(states, zip_index, strict=True)], dtype=object)
    # A zip's own effect, fixed per zip code (not per seed) so that two frames agree on it.
    zip_effect = np.array([0.8 + 0.4 * (int(hashlib.md5(z.encode()).hexdigest()[:4], 16) / 0xFFFF) for z in zips])
    size = np.round(rng.lognormal(7.5, 0.35, rows))
    bed = np.clip(np.round(size / 600), 1, 7)
    price = np.array([STATE_LEVEL[s] for s in states]) * zip_effect * 250 * size**0.8 * rng.lognormal(0, 0.15, rows)
    frame = pd.DataFrame(
        {
            "raw_row_id": np.arange(1, rows + 1),
            "brokered_by": [str(b) for b in rng.integers(1, 300, rows)],
            "status": rng.choice(["for_sale", "sold"], rows),
            "price": np.round(price, -2),
            "bed": bed,
            "bath": np.clip(bed - rng.integers(0, 2, rows), 1, None),
            "acre_lot": np.round(rng.lognormal(-1.5, 0.8, rows), 2),
            "street": [str(s) for s in rng.integers(1, 10**6, rows)],
            "city": [f"City {z[:4]}" for z in zips],
            "state": states,
            "zip_code": zips,
            "house_size": size,
            "prev_sold_date": pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 8000, rows), unit="D"),
        }
    )
    frame["bed"] = frame["bed"].mask(rng.random(rows) < 0.1)  # some missing values, as in the feed
    frame.insert(1, "row_hash", [hashlib.md5(f"{seed}-{i}".encode()).hexdigest() for i in range(rows)])
    return frame


def quick_config(**training: Any) -> ModelConfig:
    """configs/model.yaml with a search small enough for a unit test (2 trials, few rounds, 1 thread)."""
    config = Settings().configs.model
    changed = {"nthread": 1, "max_rounds": 80, "early_stopping_rounds": 10, **training}
    return config.model_copy(
        update={
            "search": config.search.model_copy(update={"n_trials": 2}),
            "training": config.training.model_copy(update=changed),
        }
    )
