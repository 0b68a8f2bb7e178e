"""Turn clean listings into the float32 matrix the booster reads.

The encoding is part of the model (saved and logged with it), so the service predicts from a numeric
array with `Booster.inplace_predict` instead of a pandas categorical frame. `FeatureEncoder.transform` is the
one encoding of listings, for training, evaluation and the service alike. Listings are a frame or plain
columns (name -> array, as the service builds them); the encoder turns either into numpy arrays first and
works on those alone, because pandas' fixed cost per call on a Series outweighs the work for a few rows.
Category columns are factorized once: each distinct value is read as text once, and looked up once.

High-cardinality ids (zip, city, broker, street) become smoothed target means of log(price) and of
log(price per square foot), plus frequencies. On the training rows these are computed out-of-fold,
so a row never sees its own price; at prediction time the statistics of all training rows are used.
Unknown or missing categories get NaN means (XGBoost routes them like any missing value); an unseen
id counts 1 (this listing), a missing one NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from tasador.schema import CATEGORICAL_COLUMNS, COLUMN_LABELS, FEATURE_COLUMNS, STATES, STATUSES, TARGET

SQFT_PER_ACRE = 43_560.0
FORMAT_VERSION = 1

#: Clean listings: a frame, or columns by name (each a sequence of one value per listing); absent columns are missing.
Listings: TypeAlias = pd.DataFrame | Mapping[str, Any]
#: A category column factorized: a code per row (-1 where missing) into its distinct values as text.
_Categories: TypeAlias = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Key:
    """One categorical key built from clean columns, e.g. zip3 = zip_code[:3], city = city|state."""

    name: str
    columns: tuple[str, ...]
    prefix: int | None = None  # keep only the first characters (zip3)


# Which keys get which statistics. Street ids are nearly unique: a target mean would be noise,
# a frequency says "a development with many listings".
_KEYS: tuple[_Key, ...] = (
    _Key("state", ("state",)),
    _Key("zip3", ("zip_code",), prefix=3),
    _Key("zip", ("zip_code",)),
    _Key("city", ("city", "state")),
    _Key("broker", ("brokered_by",)),
    _Key("street", ("street",)),
)
_TARGET_KEYS = ("state", "zip3", "zip", "city", "broker")
_PPSF_KEYS = ("zip3", "zip", "city")
_COUNT_KEYS = ("zip", "city", "broker", "street")

_PLAIN_FEATURES = (
    "bed",
    "bath",
    "acre_lot",
    "house_size",
    "sqft_per_bed",
    "bath_per_bed",
    "building_to_lot",
    "prev_sold_year",
    "status_code",
    "state_code",
    "zip_number",
)


def feature_names() -> list[str]:
    names = list(_PLAIN_FEATURES)
    names += [f"{k}_log_price" for k in _TARGET_KEYS]
    names += [f"{k}_log_ppsf" for k in _PPSF_KEYS]
    names += [f"{k}_count" for k in _COUNT_KEYS]
    return names


# How a person reads an encoded feature: the plain ones by name, the encoded ones by statistic and key.
_PLAIN_LABELS = {
    "sqft_per_bed": "Sq ft per bedroom",
    "bath_per_bed": "Bathrooms per bedroom",
    "building_to_lot": "House size to lot size",
    "prev_sold_year": "Year previously sold",
    "status_code": "Status",
    "state_code": "State",
    "zip_number": "Zip code as a number",
}
_KEY_LABELS = {"state": "state", "zip3": "3-digit zip area", "zip": "zip code", "city": "city", "broker": "broker"}
_STAT_LABELS = {
    "log_price": "Typical price of the {}",
    "log_ppsf": "Typical $/sq ft of the {}",
    "count": "Listings of the {}",
}


def feature_label(name: str) -> str:
    """An encoded feature as a person reads it, with its internal name where that differs:
    'Typical $/sq ft of the 3-digit zip area (zip3_log_ppsf)', 'Bedrooms'."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    if name in _PLAIN_LABELS:
        return f"{_PLAIN_LABELS[name]} ({name})"
    for stat, template in _STAT_LABELS.items():
        key = name.removesuffix(f"_{stat}")
        if key != name:
            return f"{template.format(_KEY_LABELS.get(key, key))} ({name})"
    return name


def _stat_names(key: str) -> list[str]:
    """Encoded features of one key, in the order of its table's columns."""
    names = []
    if key in _TARGET_KEYS:
        names.append(f"{key}_log_price")
    if key in _PPSF_KEYS:
        names.append(f"{key}_log_ppsf")
    if key in _COUNT_KEYS:
        names.append(f"{key}_count")
    return names


def feature_source(name: str) -> str:
    """The clean column an encoded feature mostly comes from (to group explanations by column)."""
    sources = {
        "sqft_per_bed": "house_size",
        "bath_per_bed": "bath",
        "building_to_lot": "acre_lot",
        "prev_sold_year": "prev_sold_date",
        "status_code": "status",
        "state_code": "state",
        "zip_number": "zip_code",
    }
    if name in sources:
        return sources[name]
    key = name.rsplit("_log_", 1)[0].removesuffix("_count")
    return {"zip3": "zip_code", "zip": "zip_code", "broker": "brokered_by"}.get(key, key)


@dataclass
class _Table:
    """Per-category statistics of one key: what `transform` looks up."""

    keys: pd.Index
    values: np.ndarray  # float64 (categories × statistics), NaN where a statistic is undefined
    positions: dict[Any, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A dict rather than `Index.get_indexer`: the same lookup, without pandas' fixed cost per call,
        # which is most of a one-listing request's encoding (BENCHMARKS.md, "Serving").
        self.positions = {key: position for position, key in enumerate(self.keys.tolist())}

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """One row of statistics per key; NaN rows for keys never seen."""
        get = self.positions.get
        positions = np.fromiter((get(key, -1) for key in keys), dtype=np.intp, count=len(keys))
        return _take(self.values, positions, missing=np.nan)

    def to_dict(self) -> dict[str, Any]:
        # JSON has no NaN: columns as lists with None.
        columns = [[None if np.isnan(v) else float(v) for v in col] for col in self.values.T]
        return {"keys": self.keys.tolist(), "columns": columns}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Table:
        columns = [np.array([np.nan if v is None else v for v in col], dtype=float) for col in data["columns"]]
        return cls(pd.Index(data["keys"], dtype=object), np.column_stack(columns))


@dataclass
class FeatureEncoder:
    """Fitted on a clean frame with prices; `transform` never needs the price."""

    smoothing: float = 20.0
    folds: int = 5
    seed: int = 0
    tables: dict[str, _Table] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return feature_names()

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> FeatureEncoder:
        self.fit_transform(df)
        return self

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """Fit on rows with a price; return their matrix with out-of-fold target encodings."""
        log_price = np.log(df[TARGET].to_numpy(dtype=float))
        if not np.isfinite(log_price).all():
            raise ValueError("FeatureEncoder.fit needs a positive price on every row; drop rows without one first.")
        log_ppsf = log_price - np.log(df["house_size"].to_numpy(dtype=float))
        log_ppsf[~np.isfinite(log_ppsf)] = np.nan
        fold = np.random.default_rng(self.seed).integers(0, self.folds, len(df))

        self.tables = {}
        oof: dict[str, np.ndarray] = {}
        columns = _columns(df)
        categories = _categories(columns)
        for key in _KEYS:
            name = key.name
            codes, uniques = _key_categories(categories, key)
            stats = []
            if name in _TARGET_KEYS:
                full, oof[f"{name}_log_price"] = self._smoothed_means(codes, len(uniques), log_price, fold)
                stats.append(full)
            if name in _PPSF_KEYS:
                full, oof[f"{name}_log_ppsf"] = self._smoothed_means(codes, len(uniques), log_ppsf, fold)
                stats.append(full)
            if name in _COUNT_KEYS:
                counts = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(float)
                stats.append(counts)
                oof[f"{name}_count"] = _take(counts, codes, missing=np.nan)
            table = _Table(pd.Index(uniques, dtype=object), np.column_stack(stats))
            if name not in _TARGET_KEYS:
                # Count-only keys (street) are nearly unique: keep repeated ids, the rest read as 1.
                repeated = table.values[:, -1] > 1
                table = _Table(table.keys[repeated], table.values[repeated])
            self.tables[name] = table
        return _stack(_plain_features(columns, categories), oof)

    def _smoothed_means(
        self, codes: np.ndarray, n_categories: int, target: np.ndarray, fold: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean per category over all rows, out-of-fold mean per row), both shrunk to the global mean."""
        usable = (codes >= 0) & np.isfinite(target)
        prior = float(np.mean(target[usable])) if usable.any() else np.nan
        c, y, f = codes[usable], target[usable], fold[usable]
        total_sum = np.bincount(c, weights=y, minlength=n_categories)
        total_n = np.bincount(c, minlength=n_categories).astype(float)
        cell = c * self.folds + f
        fold_sum = np.bincount(cell, weights=y, minlength=n_categories * self.folds)
        fold_n = np.bincount(cell, minlength=n_categories * self.folds).astype(float)

        full = self._shrink(total_sum, total_n, prior)
        oof_rows = np.full(len(codes), np.nan)
        valid = codes >= 0
        row_cell = codes[valid] * self.folds + fold[valid]
        other_sum = total_sum[codes[valid]] - fold_sum[row_cell]
        other_n = total_n[codes[valid]] - fold_n[row_cell]
        oof_rows[valid] = self._shrink(other_sum, other_n, prior)
        return full, oof_rows

    def _shrink(self, sums: np.ndarray, counts: np.ndarray, prior: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (sums + self.smoothing * prior) / (counts + self.smoothing)
        # A category never seen (here, or in the other folds) is unknown, not average.
        return np.where(counts > 0, means, np.nan)

    # --- prediction ----------------------------------------------------------------------------
    def transform(self, listings: Listings) -> np.ndarray:
        """float32 matrix for listings with (some of) the feature columns; never raises on clean types."""
        if not self.tables:
            raise RuntimeError("FeatureEncoder is not fitted; call fit(clean_df) or load a saved model.")
        columns = _columns(listings)
        categories = _categories(columns)
        looked_up: dict[str, np.ndarray] = {}
        for key in _KEYS:
            codes, values = _key_categories(categories, key)
            stats = _take(self.tables[key.name].lookup(values), codes, missing=np.nan)
            for j, name in enumerate(_stat_names(key.name)):
                looked_up[name] = stats[:, j]
            if key.name in _COUNT_KEYS:
                # Unseen but present: one listing (this one), as a training row seen once counts itself.
                count = looked_up[f"{key.name}_count"]
                count[np.isnan(count) & (codes >= 0)] = 1.0
        return _stack(_plain_features(columns, categories), looked_up)

    # --- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "smoothing": self.smoothing,
            "folds": self.folds,
            "seed": self.seed,
            "feature_names": self.feature_names,
            "tables": {name: table.to_dict() for name, table in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureEncoder:
        if data.get("format_version") != FORMAT_VERSION or data.get("feature_names") != feature_names():
            raise ValueError(
                "This model's feature encoding was written by another tasador version; "
                "retrain it or load it with the tasador version that trained it."
            )
        tables = {name: _Table.from_dict(t) for name, t in data["tables"].items()}
        return cls(data["smoothing"], data["folds"], data["seed"], tables)


def _columns(listings: Listings) -> dict[str, np.ndarray]:
    """Every feature column as a numpy array, all missing where the listings lack it."""
    rows = len(listings) if isinstance(listings, pd.DataFrame) else len(next(iter(listings.values()), ()))
    return {c: np.asarray(listings[c]) if c in listings else np.full(rows, np.nan) for c in FEATURE_COLUMNS}


def _categories(columns: Mapping[str, np.ndarray]) -> dict[str, _Categories]:
    """Each category column factorized into text (ids sent as numbers read as text: 40618.0 -> '40618')."""
    return {c: _factorized_text(columns[c]) for c in CATEGORICAL_COLUMNS}


def _factorized_text(values: np.ndarray) -> _Categories:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _distinct(codes, np.array([_text(u) for u in uniques], dtype=object))


def _distinct(codes: np.ndarray, texts: np.ndarray) -> _Categories:
    """The same codes into distinct texts: values that read the same (40618.0 and '40618') become one category."""
    merged, distinct = pd.factorize(texts)
    return _take(merged, codes, missing=-1), np.asarray(distinct, dtype=object)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _key_categories(categories: Mapping[str, _Categories], key: _Key) -> _Categories:
    """One key per row (code -1 where a part is missing), with its distinct values: string work is done
    once per distinct value, not per row (on millions of rows per-row joins cost more than the encoding)."""
    parts = [categories[c] for c in key.columns]
    if key.prefix is not None:
        codes, texts = parts[0]
        return _distinct(codes, np.array([text[: key.prefix] for text in texts], dtype=object))
    if len(parts) == 1:
        return parts[0]
    rows = len(parts[0][0])
    combined = np.zeros(rows, dtype=np.int64)
    present = np.ones(rows, dtype=bool)
    for codes, texts in parts:
        combined = combined * max(len(texts), 1) + codes
        present &= codes >= 0
    pair_codes, pairs = pd.factorize(combined[present])
    joined = []
    for pair in pairs:  # undo the mixed-radix code, last part first
        names = []
        code = int(pair)
        for _, texts in reversed(parts):
            code, position = divmod(code, max(len(texts), 1))
            names.append(texts[position])
        joined.append("|".join(reversed(names)))
    codes = np.full(rows, -1, dtype=np.intp)
    codes[present] = pair_codes
    return _distinct(codes, np.array(joined, dtype=object))


def _size_features(bed: np.ndarray, bath: np.ndarray, acre: np.ndarray, size: np.ndarray) -> dict[str, np.ndarray]:
    """The plain size columns and their ratios (call inside np.errstate: a 0 or NaN divides)."""
    return {
        "bed": bed,
        "bath": bath,
        "acre_lot": acre,
        "house_size": size,
        "sqft_per_bed": size / bed,
        "bath_per_bed": bath / bed,
        "building_to_lot": size / (acre * SQFT_PER_ACRE),
    }


def _plain_features(columns: Mapping[str, np.ndarray], categories: Mapping[str, _Categories]) -> dict[str, np.ndarray]:
    bed, bath, acre, size = (_numbers(columns[c]) for c in ("bed", "bath", "acre_lot", "house_size"))
    zip_codes, zip_texts = categories["zip_code"]
    with np.errstate(invalid="ignore", divide="ignore"):  # a ratio over 0 is inf: `_stack` makes it missing
        return {
            **_size_features(bed, bath, acre, size),
            "prev_sold_year": _fractional_year(pd.to_datetime(columns["prev_sold_date"], errors="coerce").to_numpy()),
            "status_code": _known_codes(categories["status"], STATUSES),
            "state_code": _known_codes(categories["state"], STATES),
            # The zip's number is geographic: neighbouring zips share prefixes, so trees can split on it.
            "zip_number": _take(_numbers(zip_texts), zip_codes, missing=np.nan),
        }


def _numbers(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)


def _fractional_year(dates: np.ndarray) -> np.ndarray:
    """2021-07-02 -> 2021 + 182 / 365.25 (the day of the year from 0), NaN where no date."""
    days = dates.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    day_of_year = (days - years.astype("datetime64[D]")).astype(np.int64)
    fractional = (years.astype(np.int64) + 1970) + day_of_year / 365.25
    return np.where(np.isnat(dates), np.nan, fractional)


def _known_codes(categories: _Categories, known: tuple[str, ...]) -> np.ndarray:
    """Position of each row's value in `known`, NaN where missing or not among them."""
    codes, texts = categories
    where = {name: position for position, name in enumerate(known)}
    return _take(np.array([where.get(text, np.nan) for text in texts], dtype=float), codes, missing=np.nan)


def _take(values: np.ndarray, codes: np.ndarray, missing: Any) -> np.ndarray:
    """values[codes] (rows of values for a 2-D table), `missing` where the code is -1."""
    out = np.full((len(codes), *values.shape[1:]), missing, dtype=values.dtype)
    found = codes >= 0
    out[found] = values[codes[found]]
    return out


def _stack(plain: dict[str, np.ndarray], encoded: dict[str, np.ndarray]) -> np.ndarray:
    features = plain | encoded
    columns = [features[n] for n in feature_names()]
    return _finite_float32(np.column_stack(columns))


def _finite_float32(matrix: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        matrix = matrix.astype(np.float32, copy=False)
    # A value beyond float32's range becomes inf, which DMatrix refuses: treat it as missing.
    matrix[~np.isfinite(matrix)] = np.nan
    return matrix
