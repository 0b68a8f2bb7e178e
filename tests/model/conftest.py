"""A challenger trained once on synthetic listings from tasador's generator, for the behavioural tests."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from tasador.cleaning.clean import normalise
from tasador.data_api.generator import generator_from_config
from tasador.model import Predictor, split_holdout, train_challenger
from tasador.settings import Settings
from tests.support.listings import quick_config

GENERATED_ROWS = 12_000
CLEANING_DAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="package")
def generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) of stationary synthetic listings, cleaned as the loop cleans them."""
    frame = generator_from_config(Settings().configs.datasource, scenario="stationary").batch(1, 1, GENERATED_ROWS)
    records = json.loads(frame.to_json(orient="records"))
    clean, _ = normalise(list(enumerate(records, start=1)), Settings().configs.cleaning, CLEANING_DAY)
    return split_holdout(clean, Settings().configs.model)


@pytest.fixture(scope="package")
def model(generated: tuple[pd.DataFrame, pd.DataFrame]) -> Predictor:
    train, _ = generated
    return train_challenger(train, quick_config(max_rounds=400), seed=0).predictor
