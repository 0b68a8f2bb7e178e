"""Summarise a realtor.com CSV into the statistics the synthetic generator is calibrated on.

Run once against the real sample (`python run.py datasource calibrate --csv ../shared/data/realtor-data.csv`);
the result, `calibration.json` next to this module, holds distributions and coefficients, never rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tasador.configs import CalibrationOptions
from tasador.data_api.generator import CALIBRATION_PATH, COPULA_FEATURES, HOUSE_FIELDS


def calibrate(csv_path: Path, options: CalibrationOptions) -> dict[str, Any]:
    """Statistics of `csv_path`; `options` is the `calibration` section of configs/datasource.yaml."""
    df = pd.read_csv(csv_path)
    probs = np.linspace(0.0, 1.0, int(options.quantile_count))
    probs = np.clip(probs, options.quantile_tail, 1 - options.quantile_tail)
    land = df[list(HOUSE_FIELDS)].isna().all(axis=1)
    priced = df["price"].notna() & (df["price"] >= options.low_price_below)
    houses = df[~land & priced]
    complete = houses.dropna(subset=list(COPULA_FEATURES))
    log_price = np.log(complete["price"].to_numpy())

    scores = _normal_scores(complete[list(COPULA_FEATURES)])
    fit = _fit_price(scores, log_price, complete["state"], complete["status"], options)
    return {
        "source": {"file": csv_path.name, "rows": len(df), "sha256": _sha256(csv_path)},
        "states": _states(df, fit.state_levels, options),
        "status_shares": df["status"].value_counts(normalize=True).round(5).to_dict(),
        "status_log_price_offset": fit.status_offsets,
        "missing_rates": df.isna().mean().round(5).to_dict(),
        "land_share": round(float(land.mean()), 5),
        "land_price_model": _land_price_model(df[land & priced].dropna(subset=["acre_lot"]), fit.state_levels),
        "quantile_probs": [round(float(p), 5) for p in probs],
        "quantiles": {
            "house_size": _quantiles(houses["house_size"], probs),
            "bed": _quantiles(houses["bed"], probs),
            "bath": _quantiles(houses["bath"], probs),
            "acre_lot": _quantiles(houses["acre_lot"], probs),
            "land_acre_lot": _quantiles(df.loc[land, "acre_lot"], probs),
            "prev_sold_days_before_reference": _quantiles(_days_before(df["prev_sold_date"]), probs),
        },
        "prev_sold_reference_date": str(pd.to_datetime(df["prev_sold_date"]).max().date()),
        "copula_features": list(COPULA_FEATURES),
        "copula_correlation": np.round(np.corrcoef(scores, rowvar=False), 4).tolist(),
        "price_model": {
            "coefficients": fit.coefficients,
            "residual_sd": round(float(fit.residual.std()), 5),
            "residual_kurtosis": round(float(stats.kurtosis(fit.residual)), 3),
            "r2": round(1 - float(fit.residual.var() / log_price.var()), 4),
            "low_price_share": round(float((df["price"] < options.low_price_below).mean()), 5),
            "low_price_quantiles": _quantiles(df.loc[df["price"] < options.low_price_below, "price"], probs),
        },
        "id_ranges": {col: [int(df[col].min()), int(df[col].max())] for col in ("brokered_by", "street")},
        "log_price": {
            "mean": round(float(np.log(df["price"].dropna()).mean()), 4),
            "sd": round(float(np.log(df["price"].dropna()).std()), 4),
        },
    }


def write_calibration(calibration: dict[str, Any], path: Path = CALIBRATION_PATH) -> Path:
    path.write_text(json.dumps(calibration, indent=1, sort_keys=False) + "\n")
    return path


def _normal_scores(frame: pd.DataFrame) -> np.ndarray:
    # Rank-based normal scores make the relations independent of each column's heavy tails.
    ranks = frame.rank(method="average").to_numpy()
    return stats.norm.ppf((ranks - 0.5) / len(frame))


@dataclass(frozen=True)
class _PriceFit:
    coefficients: dict[str, float]
    status_offsets: dict[str, float]
    state_levels: dict[str, float]
    residual: np.ndarray


def _fit_price(
    scores: np.ndarray, log_price: np.ndarray, state: pd.Series, status: pd.Series, options: CalibrationOptions
) -> _PriceFit:
    """Log price on the normal scores and status, with a fixed effect per state (OLS after demeaning by state)."""
    statuses = sorted(status.unique())
    dummies = np.column_stack([(status == s).to_numpy(float) for s in statuses[1:]])
    design = np.column_stack([scores, dummies])
    by_state = state.to_numpy()
    coef, *_ = np.linalg.lstsq(_demean(design, by_state), _demean(log_price, by_state), rcond=None)
    adjusted = log_price - design @ coef
    levels = _state_levels(by_state, adjusted, options.state_shrinkage_rows)
    residual = adjusted - pd.Series(by_state).map(levels).to_numpy()
    return _PriceFit(
        coefficients={n: round(float(b), 5) for n, b in zip(COPULA_FEATURES, coef, strict=False)},
        status_offsets={statuses[0]: 0.0}
        | {s: round(float(b), 4) for s, b in zip(statuses[1:], coef[len(COPULA_FEATURES) :], strict=True)},
        state_levels=levels,
        residual=residual - residual.mean(),
    )


def _demean(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(values)
    return (frame - frame.groupby(groups).transform("mean")).to_numpy().reshape(np.shape(values))


def _state_levels(state: np.ndarray, adjusted: np.ndarray, shrinkage_rows: float) -> dict[str, float]:
    """Mean adjusted log price per state, shrunk toward the overall mean where a state has few rows."""
    frame = pd.DataFrame({"state": state, "y": adjusted})
    overall = float(frame["y"].mean())
    grouped = frame.groupby("state")["y"].agg(["mean", "count"])
    weight = grouped["count"] / (grouped["count"] + shrinkage_rows)
    shrunk = overall + weight * (grouped["mean"] - overall)
    return {str(name): round(float(v), 4) for name, v in shrunk.items()}


def _states(df: pd.DataFrame, levels: dict[str, float], options: CalibrationOptions) -> dict[str, dict[str, float]]:
    shares = df["state"].value_counts(normalize=True)
    low, high = options.zip_range_quantiles
    zips = df.groupby("state")["zip_code"]
    zip_low, zip_high = zips.quantile(low), zips.quantile(high)
    return {
        str(name): {
            "share": round(float(share), 5),
            "log_price_level": levels.get(str(name), float(np.median(list(levels.values())))),
            "zip_low": int(zip_low[str(name)]),
            "zip_high": int(zip_high[str(name)]),
        }
        for name, share in shares.items()
    }


def _land_price_model(lots: pd.DataFrame, levels: dict[str, float]) -> dict[str, float]:
    """Lots without a house: log price over the state's level, on the lot size's normal score."""
    level = lots["state"].map(levels).fillna(float(np.median(list(levels.values()))))
    above_level = np.log(lots["price"].to_numpy()) - level.to_numpy()
    score = _normal_scores(lots[["acre_lot"]])[:, 0]
    slope, offset = np.polyfit(score, above_level, 1)
    residual = above_level - (offset + slope * score)
    return {
        "offset": round(float(offset), 4),
        "acre_coefficient": round(float(slope), 4),
        "residual_sd": round(float(residual.std()), 4),
    }


def _quantiles(values: pd.Series, probs: np.ndarray) -> list[float]:
    return [round(float(q), 4) for q in np.quantile(values.dropna().to_numpy(float), probs)]


def _days_before(dates: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(dates)
    return (parsed.max() - parsed).dt.days


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
