"""Rows as received -> typed columns: every field read into its clean type, a value it cannot read made the row's
reason. Feeds are messy (casing, numbers as text, zip codes with and without leading zeros, extra or missing
fields, rows as arrays of values in the feed's column order, rows that are neither); nothing they send raises
here. `parse_rows` reads rows as `Store.raw_rows` returns them; `parse_columns` reads a CSV's columns the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasador.configs import CleaningConfig
from tasador.schema import COLUMNS, NUMERIC_COLUMNS, STATES

#: (raw_row_id, row as received) pairs, as `Store.raw_rows` returns them.
RawRows = Sequence[tuple[int, Any]]

_CANONICAL = frozenset(COLUMNS)
_TEXT_COLUMNS = ("status", "city", "state", "prev_sold_date")  # text in a canonical feed (dates too)
_STATE_BY_KEY = {state.casefold(): state for state in STATES}
_SEPARATORS = re.compile(r"[\s\-]+")
_NUMBER_NOISE = r"[,$\s]"  # "$1,200,000" is a price; thousands separators and currency carry no meaning
_DATE_LIKE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
_ZIP = r"^(\d{1,5})(?:\.0*)?(?:-\d{4})?$"  # 2127, "02127", "2127.0", "02127-1234"
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
    reader = _Reader(frozenset(config.missing_tokens), config.reason_value_chars)
    frame = pd.DataFrame({"raw_row_id": ids})
    for column in COLUMNS:
        typed, reasons = reader.read(column, values[column])
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


class _Reader:
    """Reads one column into its clean type; returns (typed values, reason per unreadable value)."""

    def __init__(self, missing_tokens: frozenset[str], quote_chars: int) -> None:
        self.missing_tokens = missing_tokens
        self.quote_chars = quote_chars

    def read(self, column: str, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        if column in NUMERIC_COLUMNS:
            typed, bad = self._numbers(series)
            return typed, self._reasons(series, bad, f"{column} not a number")
        if column in _ID_COLUMNS:
            typed, bad = _by_distinct(series, self._ids)
            return typed, self._reasons(series, bad, f"{column} not an integer id")
        if column == "zip_code":
            typed, bad = _by_distinct(series, self._zips)
            return typed, self._reasons(series, bad, "zip_code not a zip code")
        if column == "prev_sold_date":
            typed, bad = _by_distinct(series, self._dates)
            return typed, self._reasons(series, bad, f"{column} not a date")
        typed, bad = _by_distinct(series, lambda values: self._text(values, column))
        return typed, self._reasons(series, bad, f"{column} not text")

    # Each reader returns typed values (NaN where missing or unreadable) and the mask of unreadable ones.
    def _numbers(self, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        if _is_plain_number(series):
            numbers = series.astype("float64")
            present = numbers.notna()
        else:
            values = self._split(series)
            numbers = pd.Series(np.nan, index=series.index, dtype="float64")
            cleaned = values.text.str.replace(_NUMBER_NOISE, "", regex=True)
            numbers.loc[values.text.index] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
            numbers.loc[values.others.index] = values.others.map(_plain_number).astype("float64")
            present = values.present
        bad = present & ~np.isfinite(numbers)
        return numbers.where(~bad), bad

    def _ids(self, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        numbers, bad = self._numbers(series)
        whole = numbers.notna() & (numbers % 1 == 0) & (numbers >= 0) & (numbers < _ID_LIMIT)
        ids = numbers[whole].astype("int64").astype("str").reindex(series.index)
        return ids, bad | (numbers.notna() & ~whole)

    def _zips(self, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        if _is_plain_number(series):
            digits = _whole_number_text(series.astype("float64"))
            present = series.notna()
        else:
            values = self._split(series)
            numbers = values.others.map(_plain_number).astype("float64")
            digits = pd.concat([values.text, _whole_number_text(numbers)]).reindex(series.index)
            present = values.present
        zips = digits.astype("str").str.extract(_ZIP, expand=False).str.zfill(5)
        zips = zips.where(zips != "00000").astype("str")
        return zips, present & zips.isna()

    def _dates(self, series: pd.Series) -> tuple[pd.Series, pd.Series]:
        values = self._split(series)
        dates = pd.to_datetime(values.text, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
        # Other spellings ("10/22/2021", "2021-10-22T00:00:00Z") are rare: read them one by one.
        retry = dates.isna() & values.text.str.match(_DATE_LIKE)
        dates.loc[retry] = values.text[retry].map(_date).astype("datetime64[us]")
        dates = dates.reindex(series.index)
        return dates, values.present & dates.isna()

    def _text(self, series: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
        values = self._split(series)
        text = values.text.str.replace(r"\s+", " ", regex=True)
        if column == "status":
            text = text.str.lower().str.replace(_SEPARATORS, "_", regex=True)
        elif column == "state":  # unknown names stay as sent, so the rule can quote them
            text = text.str.casefold().map(_STATE_BY_KEY).fillna(text)
        else:  # "MEMPHIS", "memphis" and "Memphis" are one city to the model
            text = text.str.title()
        return text.reindex(series.index).astype("str"), values.present & ~series.index.isin(text.index)

    def _split(self, series: pd.Series) -> _Split:
        is_text = np.array([type(value) is str for value in series], dtype=bool)
        try:
            text = series[is_text].astype("str").str.strip()
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" is valid JSON) is no text a database can store
            is_text = is_text & series.map(_encodable).to_numpy(dtype=bool)
            text = series[is_text].astype("str").str.strip()
        text = text[~text.str.lower().isin(self.missing_tokens)]
        others = series[~is_text]
        others = others[others.notna()]
        present = pd.Series(series.index.isin(text.index) | series.index.isin(others.index), index=series.index)
        return _Split(text, others, present)

    def _reasons(self, series: pd.Series, bad: pd.Series, prefix: str) -> pd.Series:
        reasons = pd.Series(None, index=series.index, dtype=object)
        if bad.any():
            reasons[bad] = [f"{prefix}: {_quote(v, self.quote_chars)}" for v in series[bad]]
        return reasons


@dataclass(frozen=True)
class _Split:
    text: pd.Series  # stripped text values that are not missing tokens
    others: pd.Series  # present values that are not text (numbers, booleans, lists...)
    present: pd.Series  # mask over the whole column: a value was sent


def _by_distinct(
    series: pd.Series, read: Callable[[pd.Series], tuple[pd.Series, pd.Series]]
) -> tuple[pd.Series, pd.Series]:
    """Read each distinct value once: a feed repeats its states, cities, zips and dates many times."""
    if series.dtype == object:  # mixed values: True and 1 would share a slot, so read them as they are
        return read(series)
    codes, distinct = pd.factorize(series)
    # A trailing missing value is what missing rows (code -1) read as.
    typed, bad = read(pd.Series(distinct).reindex(range(len(distinct) + 1)))
    return typed.iloc[codes].set_axis(series.index), bad.iloc[codes].set_axis(series.index)


def _is_plain_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _encodable(value: Any) -> bool:
    try:
        value.encode()
    except (AttributeError, UnicodeEncodeError):
        return False
    return True


def _plain_number(value: Any) -> float:
    # bool is an int to Python but never a count of rooms; huge ints overflow a float.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return np.nan
    try:
        return float(value)
    except OverflowError:
        return np.nan


def _whole_number_text(numbers: pd.Series) -> pd.Series:
    whole = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < _ID_LIMIT)
    return numbers[whole].astype("int64").astype("str").reindex(numbers.index)


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


def read_fields(column: str, values: Sequence[Any], config: CleaningConfig) -> list[tuple[Any, str | None]]:
    """Values of one field, as `parse_rows` reads a batch's column: (clean value or None, reason or None) each.

    The service reads a request's listings with it, a field at a time; the reason is the one cleaning would
    quarantine the row for ("zip_code not a zip code: 'abc'").
    """
    reader = _Reader(frozenset(config.missing_tokens), config.reason_value_chars)
    typed, reasons = reader.read(column, pd.Series(list(values), dtype=object))
    return [
        (None, reason) if isinstance(reason, str) else (None if pd.isna(value) else value, None)
        for value, reason in zip(typed, reasons, strict=True)
    ]
