"""JSON text of RAW rows: written with orjson, the standard library where orjson cannot write a row; read with
the standard library.

RAW keeps each row as JSON text. orjson writes it several times faster than `json` (figures in BENCHMARKS.md,
"RAW's JSON"); it refuses integers beyond 64 bits, which `json` then writes. Datetimes and dataclasses go through
`default=str`, as with `json.dumps(row, default=str)`. One difference remains, on purpose: a float NaN inside a
row is written as null (orjson's choice); cleaning reads both as a missing value. Reading stays with `json`,
which reads every integer exactly (orjson reads one beyond 64 bits as a float) and NaN as written by `json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(row: Any) -> str:
    """The row's JSON text."""
    try:
        return orjson.dumps(row, default=str, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(row, default=str)


def canonical(rows: Sequence[Any]) -> bytes:
    """Compact JSON of the rows with sorted keys (what a checksum is taken of)."""
    rows = list(rows)  # one pass over the rows as a sequence, whatever it is (orjson reads lists' items directly)
    try:
        return orjson.dumps(rows, default=str, option=_OPTIONS | orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(rows, sort_keys=True, default=str, separators=(",", ":")).encode()


def loads_joined(texts: str) -> list[Any]:
    """The values of JSON texts joined by commas, parsed as one array (one call instead of one per text)."""
    values: list[Any] = json.loads("[" + texts + "]")
    return values
