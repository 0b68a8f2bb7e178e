"""Rows as received -> typed CLEAN rows; a row that cannot go in is quarantined with its reason, never dropped.

Three passes, each vectorised over the whole batch: `parse_rows` reads every field into its clean type
(a value it cannot read becomes the row's reason), `rule_violations` applies the rules of
configs/cleaning.yaml, and duplicates (within the batch, then against CLEAN) go last. Validation
(`tasador.validation`) checks the same rules with Great Expectations; the rows it fails are quarantined at
stage "validation" with the same reasons, so a reason reads the same whichever stage caught it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasador.schema import COLUMNS, STATES
from tasador.settings import load_config
from tasador.store import rows_json

if TYPE_CHECKING:
    from tasador.store import Store

#: (raw_row_id, row as received) pairs, as `Store.raw_rows` returns them.
RawRows = Sequence[tuple[int, Any]]

QUARANTINE_COLUMNS: tuple[str, ...] = ("raw_row_id", "stage", "reason")
CLEAN_FRAME_COLUMNS: tuple[str, ...] = ("raw_row_id", "row_hash", *COLUMNS)

_CANONICAL = frozenset(COLUMNS)
_TEXT_COLUMNS = ("status", "city", "state", "prev_sold_date")  # text in a canonical feed (dates too)
_STATE_BY_KEY = {state.casefold(): state for state in STATES}
_SEPARATORS = re.compile(r"[\s\-]+")
_NUMBER_NOISE = r"[,$\s]"  # "$1,200,000" is a price; thousands separators and currency carry no meaning
_DATE_LIKE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
_ZIP = r"^(\d{1,5})(?:\.0*)?(?:-\d{4})?$"  # 2127, "02127", "2127.0", "02127-1234"
# Ids travel as floats in the feed ("40618.0"); beyond 2**53 a float no longer holds an exact integer.
_ID_LIMIT = 2.0**53
_NUMBER_COLUMNS = ("price", "bed", "bath", "acre_lot", "house_size")
_ID_COLUMNS = ("brokered_by", "street")


# --- reading rows as received ------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedRows:
    """Every raw row read into the clean types, whether or not it can enter CLEAN."""

    frame: pd.DataFrame  # raw_row_id + the 12 columns; values that could not be read are NaN/NaT
    unreadable: pd.Series  # reason per row (None where every value was read), aligned with `frame`
    fields_received: frozenset[str]  # feed columns present in at least one row


def field_name(key: object) -> str:
    """The column a field names, whatever its casing and separators: 'Zip Code' -> 'zip_code'."""
    return _SEPARATORS.sub("_", str(key).strip()).lower()


def parse_rows(raw: RawRows, config: Mapping[str, Any]) -> ParsedRows:
    """Read rows as received (any casing, numbers as text, extra or missing fields, non-objects)."""
    ids = pd.Series([row_id for row_id, _ in raw], dtype="int64")
    rows = [row for _, row in raw]
    canonical = _all_canonical(rows)
    values, fields_received = _values_by_column(rows, canonical)
    unreadable = pd.Series(
        [None] * len(rows)
        if canonical
        else ["row is not an object" if not isinstance(row, dict) else None for row in rows],
        dtype=object,
    )
    return _read_columns(ids, values, fields_received, unreadable, config)


def parse_texts(raw_row_ids: Sequence[int], texts: Sequence[str], config: Mapping[str, Any]) -> ParsedRows:
    """`parse_rows` for rows as RAW keeps them, JSON texts: the same result, read faster.

    A batch of objects with exactly the canonical fields, each holding numbers or text (what feeds almost
    always send), is read by Arrow's JSON reader into typed columns, with no Python object per value
    (0.8 -> 0.3 s per 100k rows); any other batch goes through `rows_json.loads_joined` and `parse_rows`.
    """
    ids = pd.Series(raw_row_ids, dtype="int64")
    table = rows_json.read_objects(texts, _TEXT_COLUMNS)
    if table is None or set(table.column_names) != _CANONICAL or not all(map(_plain_arrow_type, table.schema.types)):
        return parse_rows(list(zip(ids.tolist(), rows_json.loads_joined(",".join(texts)), strict=True)), config)
    values = {column: table.column(column).to_pandas() for column in COLUMNS}
    unreadable = pd.Series([None] * len(texts), dtype=object)
    return _read_columns(ids, values, frozenset(COLUMNS), unreadable, config)


def _plain_arrow_type(type_: pa.DataType) -> bool:
    # Read as a DataFrame of the parsed rows would hold them: float64, int64 (float64 with nulls), text.
    return pa.types.is_float64(type_) or pa.types.is_int64(type_) or pa.types.is_string(type_)


def _read_columns(
    ids: pd.Series,
    values: Mapping[str, pd.Series],
    fields_received: frozenset[str],
    unreadable: pd.Series,
    config: Mapping[str, Any],
) -> ParsedRows:
    reader = _Reader(frozenset(config["missing_tokens"]), int(config["reason_value_chars"]))
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


def _renamed(row: Any, received: set[str]) -> dict[str, Any]:
    """The row under canonical names, with None for fields it lacks; non-objects have no fields."""
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
        if column in _NUMBER_COLUMNS:
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
        is_text = series.map(type).eq(str).to_numpy()
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


# --- rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule a typed value must satisfy to enter CLEAN (validation turns each into an expectation)."""

    column: str
    kind: Literal["present", "min", "above", "max", "one_of", "not_before", "not_after"]
    limit: Any = None

    def broken(self, values: pd.Series) -> pd.Series:
        """Rows that break the rule; a missing value breaks only `present`."""
        if self.kind == "present":
            return values.isna()
        if self.kind == "one_of":
            return values.notna() & ~values.isin(self.limit)
        if self.kind in ("min", "not_before"):
            return values < self.limit
        if self.kind == "above":
            return values <= self.limit
        return values > self.limit

    def reason(self, value: Any) -> str:
        shown = _show(self.limit)
        return {
            "present": f"{self.column} missing",
            "min": f"{self.column} negative" if self.limit == 0 else f"{self.column} below {shown}",
            "above": f"{self.column} <= {shown}",
            "max": f"{self.column} above {shown}",
            "one_of": f"unknown {self.column} {value!r}",
            "not_before": f"{self.column} before {shown}",
            "not_after": f"{self.column} after {shown}",
        }[self.kind]


def rules_from(config: Mapping[str, Any], today: dt.date | None = None) -> list[Rule]:
    """The rules of configs/cleaning.yaml in the order they are applied (the first broken one is the reason)."""
    rules = [Rule(column, "present") for column in config["required"]]
    for column, bounds in config["numbers"].items():
        rules += [Rule(column, kind, float(bounds[kind])) for kind in ("min", "above", "max") if kind in bounds]
    rules.append(Rule("status", "one_of", tuple(config["statuses"])))
    rules.append(Rule("state", "one_of", STATES))
    for kind, day in config["prev_sold_date"].items():
        when = (today or dt.datetime.now(dt.UTC).date()) if day == "today" else dt.date.fromisoformat(str(day))
        rules.append(Rule("prev_sold_date", kind, pd.Timestamp(when)))
    return rules


def rule_violations(frame: pd.DataFrame, rules: Sequence[Rule]) -> pd.Series:
    """The first rule each row breaks, as a reason (None where it breaks none)."""
    reasons = pd.Series(None, index=frame.index, dtype=object)
    for rule in rules:
        hit = rule.broken(frame[rule.column]).fillna(False).astype(bool) & reasons.isna()
        if hit.any():
            reasons[hit] = [rule.reason(value) for value in frame.loc[hit, rule.column]]
    return reasons


def _show(limit: Any) -> str:
    if isinstance(limit, pd.Timestamp):
        return limit.date().isoformat()
    if isinstance(limit, float) and limit.is_integer():
        return str(int(limit))
    return str(limit)


# --- normalise and clean a batch -------------------------------------------------------------------------


def row_hashes(frame: pd.DataFrame) -> pd.Series:
    """md5 hex of the 12 normalised columns: the same listing hashes the same in every batch."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    # Arrow joins the columns' texts in C++; only the md5 itself is a Python call per row.
    joined = pc.binary_join_element_wise(*[_hash_text(frame[column]) for column in COLUMNS], "\x1f")
    md5 = hashlib.md5
    digests = [md5(text, usedforsecurity=False).hexdigest() for text in joined.cast(pa.binary()).to_pylist()]
    return pd.Series(digests, index=frame.index, dtype="str")


def _hash_text(values: pd.Series) -> pa.Array:
    codes, distinct = pd.factorize(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        text = pd.Series(distinct).dt.strftime("%Y-%m-%d").tolist()
    else:
        text = pd.Series(distinct).astype("str").tolist()
    text.append("")  # what missing rows (code -1) hash as
    return pa.array(text, type=pa.string()).take(pa.array(np.where(codes < 0, len(text) - 1, codes)))


def normalise(
    raw: RawRows, config: Mapping[str, Any] | None = None, today: dt.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean frame, quarantined) for rows as received; every raw row ends up in exactly one of them.

    `config` is configs/cleaning.yaml unless given; `today` (default: the current UTC date) bounds
    prev_sold_date. The clean frame has CLEAN_FRAME_COLUMNS; quarantined has raw_row_id, stage ("cleaning"), reason.
    Duplicates within the batch keep their first row; duplicates of CLEAN are `clean_batch`'s job.
    """
    config = config if config is not None else load_config("cleaning")
    return normalise_parsed(parse_rows(raw, config), config, today)


def normalise_parsed(
    parsed: ParsedRows, config: Mapping[str, Any], today: dt.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`normalise` for rows already parsed (`parse_rows`); `parsed` is left as it is."""
    reasons = parsed.unreadable.where(
        parsed.unreadable.notna(), rule_violations(parsed.frame, rules_from(config, today))
    )
    accepted = reasons.isna().to_numpy()
    clean = parsed.frame[accepted].reset_index(drop=True)
    clean.insert(1, "row_hash", row_hashes(clean))
    repeated = clean["row_hash"].duplicated().to_numpy()
    quarantined = pd.concat(
        [
            _quarantine(parsed.frame["raw_row_id"][~accepted], "cleaning", reasons[~accepted]),
            _quarantine(clean["raw_row_id"][repeated], "cleaning", "duplicate"),
        ],
        ignore_index=True,
    )
    return clean[~repeated].reset_index(drop=True), quarantined.sort_values("raw_row_id", ignore_index=True)


def _quarantine(raw_row_ids: pd.Series, stage: str, reasons: pd.Series | str) -> pd.DataFrame:
    reason_values = reasons.to_numpy() if isinstance(reasons, pd.Series) else reasons
    return pd.DataFrame(
        {"raw_row_id": raw_row_ids.to_numpy(dtype="int64"), "stage": stage, "reason": reason_values},
        columns=list(QUARANTINE_COLUMNS),
    ).astype({"raw_row_id": "int64", "stage": "str", "reason": "str"})


@dataclass(frozen=True)
class CleanSummary:
    rows_in: int
    clean: int
    quarantined: int
    top_reasons: dict[str, int]  # most frequent quarantine reasons, most frequent first


def clean_batch(
    store: Store,
    batch_id: int,
    config: Mapping[str, Any],
    validation_failures: Mapping[int, str] | None = None,
    today: dt.date | None = None,
) -> CleanSummary:
    """RAW -> CLEAN for one batch in one transaction; running it again for the batch changes nothing.

    `validation_failures` (raw_row_id -> reason, from `validate_batch`) are quarantined at stage
    "validation"; the rest go through `normalise`, then rows already in CLEAN from other batches are
    quarantined as "duplicate".
    """
    # Imported here: parsed_batch builds on this module's parse_rows.
    from tasador.parsed_batch import forget, parsed_batch

    parsed = parsed_batch(store, batch_id, config)  # the validate stage's parse when it ran in this process
    clean, quarantined = normalise_parsed(parsed, config, today)
    if validation_failures:
        raw_row_ids = parsed.frame["raw_row_id"]
        clean, quarantined = _with_validation_failures(clean, quarantined, raw_row_ids, validation_failures)
    known = store.known_hashes(clean["row_hash"].tolist(), exclude_batch=batch_id)
    seen = clean["row_hash"].isin(known).to_numpy()
    quarantined = pd.concat(
        [quarantined, _quarantine(clean["raw_row_id"][seen], "cleaning", "duplicate")], ignore_index=True
    )
    clean = clean[~seen].reset_index(drop=True)
    store.save_clean(batch_id, clean, quarantined)
    forget()  # clean is the last stage to read the batch's rows: their memory goes back before training
    top = Counter(quarantined["reason"]).most_common(int(config["top_reasons"]))
    return CleanSummary(len(parsed.frame), len(clean), len(quarantined), dict(top))


def _with_validation_failures(
    clean: pd.DataFrame, quarantined: pd.DataFrame, raw_row_ids: pd.Series, failures: Mapping[int, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    in_batch = set(raw_row_ids.tolist())
    failed = pd.Series({row_id: reason for row_id, reason in failures.items() if row_id in in_batch}, dtype=object)
    from_validation = _quarantine(pd.Series(failed.index, dtype="int64"), "validation", failed)
    clean = clean[~clean["raw_row_id"].isin(failed.index)].reset_index(drop=True)
    rest = quarantined[~quarantined["raw_row_id"].isin(failed.index)]
    return clean, pd.concat([from_validation, rest], ignore_index=True).sort_values("raw_row_id", ignore_index=True)
