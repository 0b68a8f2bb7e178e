"""Rows as received -> typed CLEAN rows; a row that cannot go in is quarantined with its reason, never dropped.

Three passes, each vectorised over the whole batch: `tasador.cleaning.parsing` reads every field into its clean type
(a value it cannot read becomes the row's reason), `rule_violations` applies the rules of
configs/cleaning.yaml, and duplicates (within the batch, then against CLEAN) go last. Validation
(`tasador.validation`) checks the same rules with Great Expectations; the rows it fails are quarantined at
stage "validation" with the same reasons, so a reason reads the same whichever stage caught it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasador.cleaning.parsing import ParsedRows, RawRows, parse_rows
from tasador.cleaning.rules import rule_violations, rules_from
from tasador.configs import CleaningConfig
from tasador.schema import COLUMNS
from tasador.settings import Settings

if TYPE_CHECKING:
    from tasador.store import Store

QUARANTINE_COLUMNS: tuple[str, ...] = ("raw_row_id", "stage", "reason")
CLEAN_FRAME_COLUMNS: tuple[str, ...] = ("raw_row_id", "row_hash", *COLUMNS)


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
    raw: RawRows, config: CleaningConfig | None = None, today: dt.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean frame, quarantined) for rows as received; every raw row ends up in exactly one of them.

    `config` is configs/cleaning.yaml unless given; `today` (default: the current UTC date) bounds
    prev_sold_date. The clean frame has CLEAN_FRAME_COLUMNS; quarantined has raw_row_id, stage ("cleaning"), reason.
    Duplicates within the batch keep their first row; duplicates of CLEAN are `clean_batch`'s job.
    """
    config = config if config is not None else Settings().configs.cleaning
    return normalise_parsed(parse_rows(raw, config), config, today)


def normalise_parsed(
    parsed: ParsedRows, config: CleaningConfig, today: dt.date | None = None
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
    config: CleaningConfig,
    validation_failures: Mapping[int, str] | None = None,
    today: dt.date | None = None,
) -> CleanSummary:
    """RAW -> CLEAN for one batch in one transaction; running it again for the batch changes nothing.

    `validation_failures` (raw_row_id -> reason, from `validate_batch`) are quarantined at stage
    "validation"; the rest go through `normalise`, then rows already in CLEAN from other batches are
    quarantined as "duplicate".
    """
    parsed = parse_rows(store.raw_rows(batch_id), config)
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
    top = Counter(quarantined["reason"]).most_common(config.top_reasons)
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
