"""Validated listings to the clean-typed frame the model's encoder reads (docs/CONTRACTS.md, Store)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tasador.schema import DATE_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS
from tasador.serving.schemas import Listing

_NAT = np.datetime64("NaT", "s")


def listings_frame(listings: Sequence[Listing]) -> pd.DataFrame:
    """Built from numpy arrays, column by column: a tenth of the cost of pandas' own inference for one row."""
    columns: dict[str, object] = {}
    for name in FEATURE_COLUMNS:
        values = [getattr(listing, name) for listing in listings]
        if name in NUMERIC_COLUMNS:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif name in DATE_COLUMNS:
            columns[name] = np.array([_NAT if v is None else np.datetime64(v, "s") for v in values])
        else:
            columns[name] = pd.array(values, dtype="str")  # pandas' text dtype, missing as NaN
    return pd.DataFrame(columns, copy=False)
