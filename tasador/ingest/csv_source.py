"""A CSV such as the real sample, served in batches of consecutive rows in file order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasador.ingest.feeds import Row, frame_to_rows


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
