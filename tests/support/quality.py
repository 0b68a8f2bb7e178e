"""Model quality on the real sample: the challenger, the baseline and a plain XGBoost reference on one holdout.

Cleans the sample with tasador.cleaning.clean.normalise, keeps prices from 1k to 20M, splits 80/20 with
sklearn's train_test_split(random_state=42). tests/model/test_quality.py asserts the goals on these figures;
benchmarks/quality.py prints them (and benchmarks/train.py times the plain reference).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PRICE_RANGE = (1_000, 20_000_000)
SPLIT_SEED = 42
TEST_SIZE = 0.2
# The brief's reference point: XGBoost on the raw columns with pandas categoricals, no search.
REFERENCE_PARAMS = {"tree_method": "hist", "max_depth": 8, "learning_rate": 0.05, "seed": 0}
REFERENCE_ROUNDS = 500
CLEANING_DAY = dt.date(2026, 11, 23)  # fixes the "sold in the future" rule so the sample cleans the same


def read_clean_sample(csv_path: Path) -> pd.DataFrame:
    """The CSV as CLEAN rows (typed by tasador.cleaning.clean.normalise), prices within PRICE_RANGE."""
    from tasador.cleaning.clean import normalise
    from tasador.settings import Settings

    if not csv_path.exists():
        raise FileNotFoundError(f"No sample at {csv_path}; pass --csv with the realtor-data.csv path.")
    records = json.loads(pd.read_csv(csv_path).to_json(orient="records"))  # NaN → None, as a feed sends it
    clean, _ = normalise(list(enumerate(records, start=1)), Settings().configs.cleaning, CLEANING_DAY)
    return clean[clean["price"].between(*PRICE_RANGE)].reset_index(drop=True)


def split(clean: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(clean, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def plain_xgboost(train: pd.DataFrame, nthread: int, device: str = "cpu") -> Any:
    """Reference: the 11 columns as they are (ids and text as pandas categories), no feature work."""
    import xgboost as xgb

    from tasador.schema import FEATURE_COLUMNS

    train_columns = list(FEATURE_COLUMNS)

    def frame(df: pd.DataFrame, categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
        out = df[train_columns].copy()
        out["prev_sold_date"] = out["prev_sold_date"].dt.year.astype(float)
        for column in ("brokered_by", "status", "street", "city", "state", "zip_code"):
            if categories:  # unseen values become missing, as the model never saw them
                known = categories[column]
                out[column] = pd.Categorical(out[column].where(out[column].isin(known)), categories=known)
            else:
                out[column] = pd.Categorical(out[column])
        return out

    features = frame(train)
    categories = {c: features[c].cat.categories for c in features.select_dtypes("category")}
    booster = xgb.train(
        {**REFERENCE_PARAMS, "nthread": nthread, "device": device},
        xgb.DMatrix(features, label=np.log(train["price"]), enable_categorical=True),
        num_boost_round=REFERENCE_ROUNDS,
    )

    def predict(df: pd.DataFrame) -> np.ndarray:
        return np.exp(booster.predict(xgb.DMatrix(frame(df, categories), enable_categorical=True)))

    return predict


def quality(csv_path: Path, nthread: int | None = None) -> dict[str, dict[str, float]]:
    """Holdout metrics per model (challenger, baseline, plain_xgboost), plus the challenger's training time."""
    from tasador.model import evaluate, train_baseline, train_challenger
    from tasador.settings import Settings

    config = Settings().configs.model.model_copy(deep=True)
    if nthread is not None:
        config.training.nthread = nthread
    train, test = split(read_clean_sample(csv_path))
    started = time.perf_counter()
    challenger = train_challenger(train, config, config.seed)
    seconds = time.perf_counter() - started
    results = {
        "challenger": {**evaluate(challenger.predictor.predict, test), "train_seconds": seconds},
        "baseline": evaluate(train_baseline(train).predict, test),
        "plain_xgboost": evaluate(plain_xgboost(train, config.training.nthread), test),
    }
    return results
