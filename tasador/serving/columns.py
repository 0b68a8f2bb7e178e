"""Validated listings to the clean-typed columns the model's encoder reads (docs/CONTRACTS.md, Store)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tasador.schema import DATE_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS
from tasador.serving.schemas import Listing

_NAT = np.datetime64("NaT", "s")


def listings_columns(listings: Sequence[Listing]) -> dict[str, np.ndarray]:
    """Numpy arrays by column name, no DataFrame: a one-row frame cost more than pricing the listing (BENCHMARKS.md,
    "Serving")."""
    columns: dict[str, np.ndarray] = {}
    for name in FEATURE_COLUMNS:
        values = [getattr(listing, name) for listing in listings]
        if name in NUMERIC_COLUMNS:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif name in DATE_COLUMNS:
            columns[name] = np.array([_NAT if v is None else np.datetime64(v, "s") for v in values], dtype="M8[s]")
        else:
            columns[name] = np.array(values, dtype=object)  # text, None where missing
    return columns
