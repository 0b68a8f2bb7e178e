"""A trained price model: the feature encoder plus the booster, saved and loaded as plain files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from tasador.model.features import FeatureEncoder, Listings, feature_source

BOOSTER_FILE = "booster.ubj"
ENCODER_FILE = "encoder.json"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Explanation:
    """Exact TreeSHAP contributions in log-price units: base_value + values.sum(axis=1) = log prediction."""

    base_value: float
    values: np.ndarray  # (rows, features)
    feature_names: list[str]

    def by_column(self) -> pd.DataFrame:
        """Contributions summed per clean input column (zip_code, house_size, ...), one row per listing."""
        frame = pd.DataFrame(self.values, columns=self.feature_names)
        return frame.T.groupby([feature_source(n) for n in self.feature_names], sort=False).sum().T


class Predictor:
    """Prices in dollars from clean listings (a frame or columns by name): the encoder's float32 matrix,
    priced with `inplace_predict`."""

    def __init__(self, encoder: FeatureEncoder, booster: xgb.Booster, version: str | None = None) -> None:
        self.encoder = encoder
        self.booster = booster
        self.version = version

    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names

    def predict_log(self, listings: Listings) -> np.ndarray:
        features = self.encoder.transform(listings)
        if not len(features):
            return np.empty(0)
        return np.asarray(self.booster.inplace_predict(features), dtype=float)

    def predict(self, listings: Listings) -> np.ndarray:
        return np.exp(self.predict_log(listings))

    def explain(self, listings: Listings) -> Explanation:
        features = self.encoder.transform(listings)
        # The bias column is the same on every row; one all-missing row yields it for an empty frame.
        rows = features if len(features) else np.full((1, len(self.feature_names)), np.nan, dtype=np.float32)
        contributions = self.booster.predict(xgb.DMatrix(rows, feature_names=self.feature_names), pred_contribs=True)
        values = contributions[: len(features), :-1].astype(float)
        return Explanation(float(contributions[0, -1]), values, self.feature_names)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / BOOSTER_FILE)
        (directory / ENCODER_FILE).write_text(json.dumps(self.encoder.to_dict()))
        meta = {"version": self.version, "xgboost": xgb.__version__, "feature_names": self.feature_names}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        directory = Path(directory)
        missing = [f for f in (BOOSTER_FILE, ENCODER_FILE, META_FILE) if not (directory / f).exists()]
        if missing:
            raise FileNotFoundError(
                f"{directory} is not a saved tasador model (missing {', '.join(missing)}); "
                "point at the folder written by Predictor.save or the model's 'predictor' artifact."
            )
        booster = xgb.Booster()
        booster.load_model(directory / BOOSTER_FILE)
        encoder = FeatureEncoder.from_dict(json.loads((directory / ENCODER_FILE).read_text()))
        meta = json.loads((directory / META_FILE).read_text())
        return cls(encoder, booster, meta.get("version"))
