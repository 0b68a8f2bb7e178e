"""Production on every batch: its error on the batch's clean rows against its error on its own holdout.

Every batch arrives with its prices, so before anything is decided the production model prices the batch's
clean rows. Its error there, set against its error on its holdout (rows it never trained on, from the
data it was trained on), says whether the world has moved away from it: the *decay* trigger. A batch of a
few hundred rows has a noisy median (and so has an early model's holdout), so the trigger fires only when
a bootstrap interval of the difference lies beyond its line (`max_rise` for the MdAPE, `max_bias` for the
median signed error): noise alone rarely gets there.
The same pass finds where the error rose (segments by state, price band and status, before -> after) and
the categories production never saw. Thresholds live in configs/drift.yaml (`decay:`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel

from tasador.configs import DecaySegments, DriftConfig, UnseenCategoriesRule
from tasador.model.evaluation import price_metrics
from tasador.results import DecayCheck, PriceMetrics, ProductionScore, SegmentChange, Segmenting, UnseenCategories
from tasador.schema import TARGET


class SegmentFix(BaseModel):
    """A segment where production's error rose, on the recent holdout: production's MdAPE there and the challenger's."""

    by: Segmenting
    segment: str
    rows: int
    production_mdape: float
    challenger_mdape: float

    def describe(self) -> str:
        return f"{self.by} {self.segment} {self.production_mdape:.1f} → {self.challenger_mdape:.1f}%"


def segment_fixes(
    segments: Sequence[SegmentChange],
    rows: pd.DataFrame,
    production: PredictFn,
    challenger: PredictFn,
    config: DriftConfig,
) -> list[SegmentFix]:
    """What a challenger fixed: both models' MdAPE, on the same `rows`, in the segments where production's rose.

    `config` is configs/drift.yaml; segments with fewer than `segments.min_rows` rows in `rows` are left out.
    """
    rules = config.decay.segments
    rows = _priced(rows)
    bands = rules.price_bands
    fixes = []
    for change in segments:
        chosen = rows[(_segment_keys(rows, change.by, bands) == change.segment).to_numpy()]
        if len(chosen) < rules.min_rows:
            continue
        fixes.append(
            SegmentFix(
                by=change.by,
                segment=change.segment,
                rows=len(chosen),
                production_mdape=float(np.median(np.abs(_errors(production, chosen).pe))),
                challenger_mdape=float(np.median(np.abs(_errors(challenger, chosen).pe))),
            )
        )
    return fixes


PredictFn = Callable[[pd.DataFrame], np.ndarray]


def score_production(
    version: str,
    predict: PredictFn,
    known: pd.DataFrame,
    holdout: pd.DataFrame,
    batch: pd.DataFrame,
    config: DriftConfig,
) -> ProductionScore | None:
    """Production's error on `batch` against `holdout`; None when either has no priced row.

    `known` is the data production was trained on (its batches' clean rows: what it has seen), `holdout`
    their holdout rows; `config` is configs/drift.yaml. Rows without a positive price are left out.
    """
    rules = config.decay
    holdout, batch = _priced(holdout), _priced(batch)
    if holdout.empty or batch.empty:
        return None
    before = _errors(predict, holdout)
    after = _errors(predict, batch)
    confidence, draws = rules.confidence, rules.bootstrap
    rng = np.random.default_rng(rules.seed)
    # Both sides are samples: the holdout of an early model has a few hundred rows, its median moves too.
    batch_abs, batch_signed = _bootstrap_medians([np.abs(after.pe), after.pe], draws, rng)
    holdout_abs, holdout_signed = _bootstrap_medians([np.abs(before.pe), before.pe], draws, rng)
    holdout_metrics = _price_metrics(before.y_true, before.y_pred)
    batch_metrics = _price_metrics(after.y_true, after.y_pred)
    max_rise, max_bias = rules.max_rise, rules.max_bias
    tail = (1 - confidence) / 2
    risen = np.quantile(batch_abs - holdout_abs * (1 + max_rise), tail) > 0
    shift_low, shift_high = np.quantile(batch_signed - holdout_signed, [tail, 1 - tail])
    biased = shift_low > max_bias or shift_high < -max_bias
    # Too few rows for a median to mean much: figures kept, trigger not judged.
    judged = len(batch) >= rules.min_rows
    decay = DecayCheck(
        fired=bool(judged and (risen or biased)),
        confidence=confidence,
        batch_mdape=batch_metrics.mdape,
        mdape_low=float(np.quantile(batch_abs, tail)),
        mdape_high=float(np.quantile(batch_abs, 1 - tail)),
        holdout_mdape=holdout_metrics.mdape,
        max_rise=max_rise,
        batch_bias=float(np.median(after.pe)),
        bias_low=float(np.quantile(batch_signed, tail)),
        bias_high=float(np.quantile(batch_signed, 1 - tail)),
        holdout_bias=float(np.median(before.pe)),
        max_bias=max_bias,
    )
    return ProductionScore(
        version=version,
        batch=batch_metrics,
        holdout=holdout_metrics,
        decay=decay,
        segments=_segments(holdout, np.abs(before.pe), batch, np.abs(after.pe), rules.segments),
        unseen=_unseen(known, batch, rules.unseen),
    )


class _Errors(NamedTuple):
    y_true: np.ndarray
    y_pred: np.ndarray
    pe: np.ndarray  # percentage error per row: (predicted - actual) / actual * 100


def _price_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> PriceMetrics:
    figures = price_metrics(y_true, y_pred)
    r2 = figures.pop("r2_log")
    return PriceMetrics(rows=int(y_true.size), r2_log=r2 if math.isfinite(r2) else None, **figures)


def _priced(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[TARGET] > 0].reset_index(drop=True)


def _errors(predict: PredictFn, frame: pd.DataFrame) -> _Errors:
    y_true = frame[TARGET].to_numpy(dtype=float)
    y_pred = np.asarray(predict(frame), dtype=float)
    return _Errors(y_true=y_true, y_pred=y_pred, pe=(y_pred - y_true) / y_true * 100)


def _bootstrap_medians(samples: Sequence[np.ndarray], draws: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bootstrap medians of each sample, `draws` of them, from the same resampled rows."""
    picks = rng.integers(0, samples[0].size, size=(draws, samples[0].size))
    return [np.median(values[picks], axis=1) for values in samples]


def _segments(
    holdout: pd.DataFrame, before: np.ndarray, batch: pd.DataFrame, after: np.ndarray, rules: DecaySegments
) -> list[SegmentChange]:
    bands = rules.price_bands
    min_rows = rules.min_rows
    changes: list[SegmentChange] = []
    for by in ("state", "price band", "status"):
        keys_before, keys_after = _segment_keys(holdout, by, bands), _segment_keys(batch, by, bands)
        old, new = _segment_errors(before, keys_before), _segment_errors(after, keys_after)
        for segment, (mdape_before, rows_before) in old.items():
            if segment not in new or min(rows_before, new[segment][1]) < min_rows:
                continue
            mdape_after, rows_after = new[segment]
            changes.append(
                SegmentChange(
                    by=by,
                    segment=segment,
                    rows_before=rows_before,
                    rows_after=rows_after,
                    mdape_before=mdape_before,
                    mdape_after=mdape_after,
                )
            )
    rose = sorted((c for c in changes if c.rise > 0), key=lambda c: -c.rise)
    return rose[: rules.top]


def _segment_errors(errors: np.ndarray, keys: pd.Series) -> dict[str, tuple[float, int]]:
    """Median error and row count per segment, in the segments' sorted order."""
    grouped = pd.Series(errors).groupby(keys.to_numpy()).agg(["median", "size"])
    return {
        str(segment): (float(median), int(size))
        for segment, median, size in zip(grouped.index, grouped["median"], grouped["size"], strict=True)
    }


def _segment_keys(frame: pd.DataFrame, by: Segmenting, bands: Sequence[float]) -> pd.Series:
    if by == "price band":
        labels = _band_labels(bands)
        return pd.Series(np.asarray(labels, dtype=object)[np.searchsorted(bands, frame[TARGET], side="right")])
    return frame[by].astype(object).fillna("(missing)").astype(str).reset_index(drop=True)


def _band_labels(bands: Sequence[float]) -> list[str]:
    edges = [_dollars(b) for b in bands]
    return [f"< {edges[0]}", *(f"{a}-{b}" for a, b in pairwise(edges)), f">= {edges[-1]}"]


def _dollars(value: float) -> str:
    return f"${value / 1e6:g}M" if value >= 1e6 else f"${value / 1e3:g}k"


def _unseen(reference: pd.DataFrame, batch: pd.DataFrame, rules: UnseenCategoriesRule) -> list[UnseenCategories]:
    """Per column (states, cities, zip areas): the batch's values the reference never had."""
    found = []
    for column in rules.columns:
        ref, cur = _category(reference, column).dropna(), _category(batch, column)
        new = cur[~cur.isin(set(ref))].dropna()
        if new.empty:
            continue
        counts, ref_counts = new.value_counts(), ref.value_counts()
        found.append(
            UnseenCategories(
                column=column,
                count=int(counts.size),
                share=float(new.size / len(batch)),
                expected_share=float((ref_counts == 1).sum() / max(ref_counts.sum(), 1)),
                examples=[str(v) for v in counts.index[: rules.examples]],
            )
        )
    return found


def _category(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as the model's keys see it: `zip3` is the zip code's first three characters."""
    if column == "zip3":
        return frame["zip_code"].astype(object).where(frame["zip_code"].notna()).astype("string").str[:3]
    return frame[column].astype("string")
