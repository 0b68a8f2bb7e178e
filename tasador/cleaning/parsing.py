"""Rows as received -> typed columns: every field read into its clean type, a value it cannot read made the row's
reason. Feeds are messy (casing, numbers as text, zip codes with and without leading zeros, extra or missing
fields, rows as arrays of values in the feed's column order, rows that are neither); nothing they send raises
here. `parse_rows` reads rows as `Store.raw_rows` returns them; `parse_columns` reads a CSV's columns the same way.
`FieldReader.read_value` says what one value means; the columns are read with it, a distinct value at a time, and the
service reads a request's listings with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasador.configs import CleaningConfig
from tasador.schema import COLUMNS, NUMERIC_COLUMNS, STATES

#: (raw_row_id, row as received) pairs, as `Store.raw_rows` returns them.
RawRows = Sequence[tuple[int, Any]]

_CANONICAL = frozenset(COLUMNS)
_STATE_BY_KEY = {state.casefold(): state for state in STATES}
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s\-]+")
_NUMBER_NOISE = re.compile(r"[,$\s]")  # "$1,200,000" is a price; thousands separators and currency carry no meaning
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_ZIP = re.compile(r"(\d{1,5})(?:\.0*)?(?:-\d{4})?")  # 2127, "02127", "2127.0", "02127-1234"
# Ids travel as floats in the feed ("40618.0"); beyond 2**53 a float no longer holds an exact integer.
_ID_LIMIT = 2.0**53
_ID_COLUMNS = ("brokered_by", "street")


@dataclass(frozen=True)
class ParsedRows:
    """Every raw row read into the clean types, whether or not it can enter CLEAN."""

    frame: pd.DataFrame  # raw_row_id + the 12 columns; values that could not be read are NaN/NaT
    unreadable: pd.Series  # reason per row (None where every value was read), aligned with `frame`
    fields_received: frozenset[str]  # feed columns present in at least one row


def field_name(key: object) -> str:
    """The column a field names, whatever its casing and separators: 'Zip Code' -> 'zip_code'."""
    return _SEPARATORS.sub("_", str(key).strip()).lower()


def parse_rows(raw: RawRows, config: CleaningConfig) -> ParsedRows:
    """Read rows as received (any casing, numbers as text, extra or missing fields, non-objects)."""
    ids = pd.Series([row_id for row_id, _ in raw], dtype="int64")
    rows = [row for _, row in raw]
    canonical = _all_canonical(rows)
    values, fields_received = _values_by_column(rows, canonical)
    unreadable = pd.Series([None] * len(rows) if canonical else list(map(_shape_problem, rows)), dtype=object)
    return _read_columns(ids, values, fields_received, unreadable, config)


def parse_columns(
    ids: Sequence[int] | np.ndarray, values: Mapping[str, pd.Series], config: CleaningConfig
) -> ParsedRows:
    """`parse_rows` for rows given by column (a CSV read by Arrow): the same reading, column by column.

    `values` maps field names as sent (any casing and separators) to aligned Series; a column it lacks
    is read as absent in every row, and fields outside the schema are ignored.
    """
    index = pd.RangeIndex(len(ids))
    named: dict[str, pd.Series] = {}
    for key, series in values.items():
        named.setdefault(field_name(key), series.set_axis(index))
    received = frozenset(named) & _CANONICAL
    by_column = {c: named.get(c, pd.Series([None] * len(ids), index=index, dtype=object)) for c in COLUMNS}
    unreadable = pd.Series([None] * len(ids), dtype=object)
    return _read_columns(pd.Series(ids, dtype="int64"), by_column, received, unreadable, config)


def _read_columns(
    ids: pd.Series,
    values: Mapping[str, pd.Series],
    fields_received: frozenset[str],
    unreadable: pd.Series,
    config: CleaningConfig,
) -> ParsedRows:
    reader = FieldReader(config)
    frame = pd.DataFrame({"raw_row_id": ids})
    for column in COLUMNS:
        typed, reasons = reader.read_column(column, values[column])
        frame[column] = typed
        unreadable = unreadable.where(unreadable.notna(), reasons)
    return ParsedRows(frame, unreadable, fields_received)


def _all_canonical(rows: list[Any]) -> bool:
    """Every row is a dict of exactly the 12 canonical fields (what feeds almost always send)."""
    # Checked with C-level passes over the batch; a per-row Python test costs more than reading the values.
    if set(map(type, rows)) != {dict}:
        return False
    return sum(map(len, rows)) == len(COLUMNS) * len(rows) and set().union(*rows) == _CANONICAL


def _values_by_column(rows: list[Any], all_canonical: bool) -> tuple[dict[str, pd.Series], frozenset[str]]:
    received: set[str] = set()
    if all_canonical:
        named, received = rows, set(COLUMNS)
    else:  # only the rows that are not exactly canonical pay for renaming
        named = [row if isinstance(row, dict) and row.keys() == _CANONICAL else _renamed(row, received) for row in rows]
        if len(received) < len(COLUMNS) and any(isinstance(r, dict) and r.keys() == _CANONICAL for r in rows):
            received.update(COLUMNS)
    try:  # pandas types the common columns (all floats, all text) in C
        frame = pd.DataFrame(named, columns=list(COLUMNS))
    except (TypeError, ValueError, OverflowError):
        frame = pd.DataFrame(named, columns=list(COLUMNS), dtype=object)
    return {column: frame[column] for column in COLUMNS}, frozenset(received)


def _shape_problem(row: Any) -> str | None:
    """Why a row has no fields to read, or None: an object, or an array of one value per feed column."""
    if isinstance(row, dict):
        return None
    if isinstance(row, list):
        return (
            None
            if len(row) == len(COLUMNS)
            else f"row has {len(row)} values; the feed's {len(COLUMNS)} columns are expected"
        )
    return "row is not an object"


def _renamed(row: Any, received: set[str]) -> dict[str, Any]:
    """The row under canonical names, with None for fields it lacks; an array of one value per column, in
    the feed's documented order, names its values by position; other rows have no fields."""
    if isinstance(row, list) and len(row) == len(COLUMNS):
        received.update(COLUMNS)
        return dict(zip(COLUMNS, row, strict=True))
    renamed: dict[str, Any] = dict.fromkeys(COLUMNS)
    for key, value in row.items() if isinstance(row, dict) else ():
        name = field_name(key)
        if name in _CANONICAL and renamed[name] is None:  # the first field that has a value wins
            renamed[name] = value
            received.add(name)
    return renamed


#: What one value reads as: (clean value, None); (None, None) when it is missing; (None, reason) when cleaning
#: cannot read it.
Reading = tuple[Any, str | None]
_ABSENT: Reading = (None, None)
_DTYPES = {column: "float64" for column in NUMERIC_COLUMNS} | {"prev_sold_date": "datetime64[us]"}  # else text


class FieldReader:
    """What a value sent for a column means (`read_value`), and a batch's column read a distinct value at a time
    (`read_column`). Cleaning reads feeds with it and the service reads requests with it: one reading for both."""

    def __init__(self, config: CleaningConfig) -> None:
        self.missing_tokens = frozenset(config.missing_tokens)
        self.quote_chars = config.reason_value_chars

    def read_column(self, column: str, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(typed values, reason per unreadable value), aligned with `series`."""
        if column in NUMERIC_COLUMNS and _is_plain_number(series):
            # Numbers sent as numbers (a CSV, most feeds): nothing to read, each only has to be finite.
            numbers = series.astype("float64")
            bad = numbers.notna() & ~np.isfinite(numbers)
            reasons = pd.Series(None, index=series.index, dtype=object)
            reasons[bad] = [self._reason(column, value) for value in series[bad]]
            return numbers.where(~bad), reasons
        return self._each_distinct(column, series)

    def _each_distinct(self, column: str, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Each distinct value read once: a feed repeats its states, cities, zips and dates many times."""
        codes = None
        if series.dtype != object:  # values of one type: pandas finds the distinct ones in C, missing ones get -1
            codes, distinct = pd.factorize(series)
            readings = [*(self.read_value(column, value) for value in distinct.tolist()), _ABSENT]
        else:  # mixed values: True, 1 and 1.0 are one key to pandas but not to the reader
            seen: dict[tuple[type, Any], Reading] = {}
            readings = [self._seen_or_read(column, value, seen) for value in series.tolist()]
        clean = pd.Series([value for value, _ in readings], dtype=_DTYPES.get(column, "str"))
        reasons = pd.Series([reason for _, reason in readings], dtype=object)
        if codes is not None:
            clean, reasons = clean.iloc[codes], reasons.iloc[codes]
        return clean.set_axis(series.index), reasons.set_axis(series.index)

    def _seen_or_read(self, column: str, value: Any, seen: dict[tuple[type, Any], Reading]) -> Reading:
        try:
            found = seen.get((type(value), value))
        except TypeError:  # a list or an object: unhashable, read as it is
            return self.read_value(column, value)
        if found is None:
            found = seen[type(value), value] = self.read_value(column, value)
        return found

    def read_value(self, column: str, value: Any) -> Reading:
        """What one value sent for `column` reads as."""
        if type(value) is str:
            text = value.strip()
            if text.lower() in self.missing_tokens:
                return _ABSENT
            # A lone surrogate ("\ud800" is valid JSON) is no text a database can store.
            clean = self._from_text(column, text) if _encodable(text) else None
        elif pd.isna(value) is True:  # None, NaN, NaT (a list's isna is an array: a value, not missing)
            return _ABSENT
        else:
            clean = self._from_other(column, value)
        return (clean, None) if clean is not None else (None, self._reason(column, value))

    def _from_text(self, column: str, text: str) -> Any:
        if column in NUMERIC_COLUMNS:
            return _number_in(text)
        if column in _ID_COLUMNS:
            return _whole_digits(_number_in(text))
        if column == "zip_code":
            return _zip(text)
        if column == "prev_sold_date":
            return _date(text) if _DATE_LIKE.match(text) else None
        text = _SPACES.sub(" ", text)
        if column == "status":
            return _SEPARATORS.sub("_", text.lower())
        if column == "state":  # unknown names stay as sent, so the rule can quote them
            return _STATE_BY_KEY.get(text.casefold(), text)
        return text.title()  # "MEMPHIS", "memphis" and "Memphis" are one city to the model

    def _from_other(self, column: str, value: Any) -> Any:
        """A value that is not text: a number, or something no column can read (a boolean, a list, an object)."""
        number = _plain_number(value)
        if column in NUMERIC_COLUMNS:
            return number
        if column in _ID_COLUMNS:
            return _whole_digits(number)
        if column == "zip_code":  # 2127.0 is zip 02127; a negative or fractional number is no zip
            digits = _whole_digits(number)
            return _zip(digits) if digits is not None else None
        return None  # dates and names are text

    def _reason(self, column: str, value: Any) -> str:
        return f"{column} {_NOT_READ.get(column, 'not text')}: {_quote(value, self.quote_chars)}"


_NOT_READ = (
    dict.fromkeys(NUMERIC_COLUMNS, "not a number")
    | dict.fromkeys(_ID_COLUMNS, "not an integer id")
    | {"zip_code": "not a zip code", "prev_sold_date": "not a date"}
)


def _number_in(text: str) -> float | None:
    """A number written as text: "1,500", "$1,200,000", "3.0", "1e5"; None for anything else."""
    digits = _NUMBER_NOISE.sub("", text)
    if not digits.isascii() or "_" in digits:  # float() also reads "1_000" and other scripts' digits
        return None
    return _finite(digits)


def _plain_number(value: Any) -> float | None:
    # bool is an int to Python but never a count of rooms.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _finite(value)


def _finite(value: str | float) -> float | None:
    try:
        number = float(value)
    except (ValueError, OverflowError):  # not a number; an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _whole_digits(number: float | None) -> str | None:
    """A whole number ≥ 0 as its digits (40618.0 -> '40618'), as ids and zips sent as numbers are written."""
    if number is None or not number.is_integer() or not 0 <= number < _ID_LIMIT:
        return None
    return str(int(number))


def _zip(digits: str) -> str | None:
    match = _ZIP.fullmatch(digits)
    zip_code = match.group(1).zfill(5) if match else None
    return None if zip_code == "00000" else zip_code


def _is_plain_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _encodable(value: Any) -> bool:
    try:
        value.encode()
    except (AttributeError, UnicodeEncodeError):
        return False
    return True


def _date(text: str) -> pd.Timestamp | None:
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp.normalize()


def _quote(value: Any, chars: int) -> str:
    shown = repr(value)
    return shown if len(shown) <= chars else shown[: chars - 1] + "…"
