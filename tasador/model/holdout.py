"""The holdout rule: fixed per row, so challenger and production are always compared on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasador.configs import ModelConfig

HASH_PREFIX_CHARS = 8


def in_holdout(row_hashes: pd.Series, holdout_percent: int) -> np.ndarray:
    """A row is in the holdout iff int(row_hash[:8], 16) % 100 < holdout_percent.

    The hash is the row's content (tasador.cleaning.clean.row_hashes), so a row keeps its side across batches.
    """
    buckets = np.fromiter(
        (int(h[:HASH_PREFIX_CHARS], 16) % 100 for h in row_hashes), dtype=np.int64, count=len(row_hashes)
    )
    return buckets < holdout_percent


def split_holdout(clean_df: pd.DataFrame, config: ModelConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) of a CLEAN frame (with `row_hash`), by `holdout_percent` in configs/model.yaml."""
    if "row_hash" not in clean_df.columns:
        raise ValueError("split_holdout needs the CLEAN frame's row_hash column; read it with Store.clean_frame.")
    holdout = in_holdout(clean_df["row_hash"], config.holdout_percent)
    return clean_df[~holdout].reset_index(drop=True), clean_df[holdout].reset_index(drop=True)
