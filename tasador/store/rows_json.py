"""JSON text of RAW rows: orjson where it gives what the standard library would, the standard library otherwise.

RAW keeps each row as JSON text; writing and reading that text was a third of a batch's CPU with `json`.
orjson is several times faster; the cases where it would read or write something else go through `json`:
integers beyond 64 bits (orjson refuses to write them and reads them back as floats) and NaN/Infinity
(not JSON: orjson refuses to read them). Datetimes and dataclasses go through `default=str`, as with
`json.dumps(row, default=str)`. One difference remains, on purpose: a float NaN inside a row is written
as null (orjson's choice); cleaning reads both as a missing value.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pa_json

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# orjson reads an integer beyond 64 bits (20 digits and more) as a float: text with a run of 20 digits goes
# to `json`. Mapping every digit to "0" lets one bytes.find look for such a run (str scans are 10x slower).
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_NUMBER = b"0" * 20
# Arrow reads these where `loads_joined` would not: NaN and Infinity as numbers (json.loads reads them as
# such, and cleaning calls them "not a number"), and lone surrogates, which only `json` writes (as \ud800).
_ARROW_READS_OTHERWISE = (b"NaN", b"Infinity", b"\\ud")
_ARROW_BLOCK_BYTES = 1 << 24  # one block per 60k rows or so: fewer, larger tasks for Arrow's threads


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
    """The values of JSON texts joined by commas, parsed as one array (much faster than one call per text)."""
    joined = ("[" + texts + "]").encode()
    if joined.translate(_DIGITS_AS_ZERO).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(joined)
        except orjson.JSONDecodeError:
            pass  # NaN or Infinity, written by json.dumps
    return json.loads(joined)


def read_objects(texts: Sequence[str], text_fields: Sequence[str]) -> pa.Table | None:
    """Rows that are all JSON objects, read as an Arrow table by Arrow's JSON reader (in C++, no Python
    object per value); None where it would read them otherwise than `loads_joined` does, so the caller reads
    them with `loads_joined`. That is: a row that is not an object, a field whose values change type from
    row to row, a field given twice, numbers beyond 64 bits, NaN or Infinity, lone surrogates.

    `text_fields` are read as text whatever they hold (Arrow would otherwise make timestamps of dates);
    Arrow types the other fields itself. A field missing from a row reads as null, as in a DataFrame.
    """
    if not texts or not all(text.startswith("{") for text in texts):
        return None
    joined = "\n".join(texts).encode()  # JSON texts hold no raw newline: one row per line
    if joined.translate(_DIGITS_AS_ZERO).find(_LONG_NUMBER) >= 0 or any(t in joined for t in _ARROW_READS_OTHERWISE):
        return None
    schema = pa.schema([(name, pa.string()) for name in text_fields])
    try:
        return pa_json.read_json(
            io.BytesIO(joined),
            read_options=pa_json.ReadOptions(block_size=_ARROW_BLOCK_BYTES),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
        )
    except pa.ArrowInvalid:  # a field that changes type, a row too long for a block, ...
        return None
