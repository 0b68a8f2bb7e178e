"""Feeds: numbered batches of JSON-ready rows per group, served by the data API or read in process.

The server and the in-process source hand out the same feed, so the same configuration gives the same
batches with or without HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from tasador.configs import DatasourceConfig, MessyOptions
from tasador.data_api.generator import ListingGenerator, generator_from_config
from tasador.schema import NUMERIC_COLUMNS

Row = dict[str, Any]
# Stream id of the mess drawn for a batch; generated chunks use small indices, so the two never meet.
_MESSY_STREAM = 2**31 - 1


class Feed(Protocol):
    @property
    def name(self) -> str:
        """Stable id of what is served, e.g. "synthetic:stationary:42" (RAW keys batches by it)."""
        ...

    @property
    def batch_count(self) -> int: ...

    def rows(self, group_number: int, batch_number: int) -> list[Row]:
        """Batch `batch_number` (1 .. batch_count) of the group, deterministically."""
        ...


def frame_to_rows(frame: pd.DataFrame) -> list[Row]:
    """Rows as plain dicts with None where a value is missing (null in JSON)."""
    tidy = frame.astype(object).where(frame.notna(), None)
    return tidy.to_dict(orient="records", into=dict[str, Any]())  # an instance: pandas uses its type, mypy its keys


class SyntheticFeed:
    def __init__(self, generator: ListingGenerator, batch_size: int, batches: int) -> None:
        self._generator = generator
        self._batch_size = batch_size
        self._batches = batches

    @property
    def name(self) -> str:
        return f"synthetic:{self._generator.scenario.name}:{self._generator.seed}"

    @property
    def batch_count(self) -> int:
        return self._batches

    def rows(self, group_number: int, batch_number: int) -> list[Row]:
        return frame_to_rows(self._generator.batch(group_number, batch_number, self._batch_size))


class CsvFeed:
    """Batch k of every group is rows (k-1)*batch_size .. k*batch_size-1 of the file, values as pandas reads
    them (so zip codes stay the floats the file has, and empty cells become null)."""

    def __init__(self, path: Path, batch_size: int) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"CSV {path} does not exist: pass the path of a realtor-style CSV.")
        self._path = path
        self._batch_size = batch_size
        self._frame = pd.read_csv(path)

    @property
    def name(self) -> str:
        return f"csv:{self._path.name}"

    @property
    def batch_count(self) -> int:
        return -(-len(self._frame) // self._batch_size)

    def rows(self, group_number: int, batch_number: int) -> list[Row]:
        start = (batch_number - 1) * self._batch_size
        return frame_to_rows(self._frame.iloc[start : start + self._batch_size])


class MessyFeed:
    """Another feed's rows with the mess real feeds carry: lower-cased states, numbers as strings, zip
    codes with their leading zeros back ("02127"), unexpected fields. Seeded per batch like the rows."""

    def __init__(self, feed: Feed, options: MessyOptions, seed: int) -> None:
        self._feed = feed
        self._options = options
        self._seed = seed

    @property
    def name(self) -> str:
        return f"{self._feed.name}:messy"

    @property
    def batch_count(self) -> int:
        return self._feed.batch_count

    def rows(self, group_number: int, batch_number: int) -> list[Row]:
        rows = self._feed.rows(group_number, batch_number)
        rng = np.random.default_rng([self._seed, group_number, batch_number, _MESSY_STREAM])
        draws = rng.random((len(rows), 4)) < [
            self._options.lowercase_state_share,
            self._options.numbers_as_strings_share,
            self._options.zip_with_leading_zeros_share,
            self._options.extra_field_share,
        ]
        for row, (lower, strings, zeros, extra) in zip(rows, draws, strict=True):
            if lower and isinstance(row.get("state"), str):
                row["state"] = row["state"].lower()
            if strings:
                row.update({k: str(row[k]) for k in NUMERIC_COLUMNS if row.get(k) is not None})
            if zeros and isinstance(row.get("zip_code"), float):
                row["zip_code"] = f"{int(row['zip_code']):05d}"
            if extra:
                row["listing_id"] = f"L{batch_number}-{rng.integers(10**9)}"
        return rows


def build_feed(
    config: DatasourceConfig,
    *,
    scenario: str | None = None,
    seed: int | None = None,
    batch_size: int | None = None,
    batches: int | None = None,
    csv: Path | None = None,
    messy: bool | None = None,
) -> Feed:
    """The feed configs/datasource.yaml describes; each argument given overrides its config value.

    A CSV (argument, or `csv.path` in the config) is served as it is; otherwise the generator.
    """
    gen = config.generator
    csv_path = csv or config.csv.path
    feed: Feed
    if csv_path is not None:
        feed = CsvFeed(csv_path, batch_size or config.csv.batch_size)
    else:
        feed = SyntheticFeed(
            generator_from_config(config, scenario=scenario, seed=seed),
            batch_size=batch_size or gen.batch_size,
            batches=batches or gen.batches,
        )
    if gen.messy if messy is None else messy:
        feed = MessyFeed(feed, config.messy, gen.seed if seed is None else seed)
    return feed
