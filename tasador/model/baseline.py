"""The baseline every challenger is logged beside: median price by zip, then state, then overall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tasador.schema import TARGET


@dataclass(frozen=True)
class BaselinePredictor:
    by_zip: dict[str, float]
    by_state: dict[str, float]
    overall: float

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        prices = _lookup(df, "zip_code", self.by_zip)
        by_state = _lookup(df, "state", self.by_state)
        prices = np.where(np.isnan(prices), by_state, prices)
        return np.where(np.isnan(prices), self.overall, prices)


def train_baseline(train_df: pd.DataFrame) -> BaselinePredictor:
    priced = train_df[train_df[TARGET] > 0]
    if priced.empty:
        raise ValueError("train_baseline needs rows with a positive price; the training frame has none.")
    return BaselinePredictor(
        by_zip=_medians(priced, "zip_code"),
        by_state=_medians(priced, "state"),
        overall=float(priced[TARGET].median()),
    )


def _medians(df: pd.DataFrame, column: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in df.groupby(column, dropna=True)[TARGET].median().items()}


def _lookup(df: pd.DataFrame, column: str, medians: dict[str, float]) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return np.array([medians.get(str(v), np.nan) for v in df[column]], dtype=float)
