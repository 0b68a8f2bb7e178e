"""Validate a raw batch with Great Expectations: a JSON and an HTML report, and the rows to quarantine."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasador.cleaning.parsing import ParsedRows, parse_rows
from tasador.cleaning.rules import Rule, rule_violations, rules_from
from tasador.configs import BatchChecks, CleaningConfig, ValidationConfig
from tasador.settings import Settings
from tasador.validation import suite as suites
from tasador.validation.report import render_html
from tasador.validation.runner import SuiteRun, run_suites

if TYPE_CHECKING:
    from tasador.store import Store


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool  # every expectation met (hard and soft)
    json_path: Path
    html_path: Path
    summary: dict[str, Any]
    hard_failures: dict[int, str] = field(repr=False)  # raw_row_id -> reason, to quarantine at stage "validation"


class BatchRejected(Exception):
    """The batch as a whole cannot be processed (empty, not a list, required columns missing)."""

    def __init__(self, reason: str, outcome: ValidationOutcome) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome


def validate_batch(
    store: Store,
    batch_id: int,
    settings: Settings,
    config: ValidationConfig,
    cleaning_config: CleaningConfig | None = None,
    today: dt.date | None = None,
) -> ValidationOutcome:
    """Validate a batch in RAW, write its reports under the store's folder of settings.reports_dir and record
    them in the store.

    Raises BatchRejected (after writing and recording the report) when the batch cannot be processed.
    `cleaning_config` (default configs/cleaning.yaml) supplies the row rules.
    """
    folder = settings.reports_dir / store.folder_name / f"batch-{batch_id:06d}"
    rules = cleaning_config if cleaning_config is not None else settings.configs.cleaning
    try:
        outcome = validate_rows(store.raw_rows(batch_id), folder, config, rules, f"batch {batch_id}", today)
    except BatchRejected as rejected:
        _record(store, batch_id, rejected.outcome)
        raise
    _record(store, batch_id, outcome)
    return outcome


def _record(store: Store, batch_id: int, outcome: ValidationOutcome) -> None:
    store.save_report(batch_id, outcome.success, str(outcome.json_path), str(outcome.html_path), outcome.summary)


def validate_rows(
    raw: Any,
    folder: Path,
    config: ValidationConfig,
    cleaning_config: CleaningConfig,
    label: str = "batch",
    today: dt.date | None = None,
) -> ValidationOutcome:
    """Validate (raw_row_id, row) pairs, or rows `parse_rows` already read (`ParsedRows`, left as they are);
    writes folder/validation.json and folder/validation.html."""
    if not isinstance(raw, list | ParsedRows):
        refusal = f"the batch is not a list of rows but {type(raw).__name__}; check what the data API sends"
        outcome = _write(folder, _summary(label, 0, {}, {}, refusal, config), {}, {}, config)
        raise BatchRejected(refusal, outcome)
    parsed = raw if isinstance(raw, ParsedRows) else parse_rows(raw, cleaning_config)
    rules = rules_from(cleaning_config, today)
    results = run_suites(_suite_runs(parsed, rules, config))
    documents = {name: result.to_json_dict() for name, result in results.items()}
    reason = _rejection(parsed, config.batch)
    failures = {} if reason else _hard_failures(parsed, documents[suites.ROWS], rules)
    summary = _summary(label, len(parsed.frame), documents, failures, reason, config)
    outcome = _write(folder, summary, documents, failures, config)
    if reason:
        raise BatchRejected(reason, outcome)
    return outcome


def _suite_runs(parsed: ParsedRows, rules: list[Rule], config: ValidationConfig) -> dict[str, SuiteRun]:
    # The batch suite sees which fields arrived; the others see the values read into their clean types.
    received = pd.DataFrame(index=parsed.frame.index, columns=sorted(parsed.fields_received))
    examples = config.report.examples
    # BASIC gives what the report shows (counts, observed value, a few unexpected values); SUMMARY would add
    # value counts and pandas index lists of the unexpected values that nobody read (cost in BENCHMARKS.md).
    summary_format = {"result_format": "BASIC", "partial_unexpected_count": examples}
    every_row = {"result_format": "COMPLETE", "unexpected_index_column_names": ["raw_row_id"]}
    values = _for_gx(parsed.frame)
    return {
        suites.BATCH: SuiteRun(received, suites.batch_expectations(config.batch), summary_format),
        suites.ROWS: SuiteRun(values, suites.row_expectations(rules, config.rows.mostly), every_row),
        suites.FEED: SuiteRun(values, suites.feed_expectations(config.feed), summary_format),
    }


def _for_gx(frame: pd.DataFrame) -> pd.DataFrame:
    """The parsed frame as Great Expectations checks it fastest: text as categoricals, dates in nanoseconds.

    GX filters the whole frame for each metric of each expectation (some 200 filters per batch). On
    Arrow-backed text columns every filter is a pyarrow `take`, much of GX's time. A categorical column
    filters as integer codes, with the same values (figures in BENCHMARKS.md).
    GX checks a range on any datetime unit but nanoseconds (cleaning's are microseconds) one Python call
    per value; dates outside nanoseconds' range (before 1677 or after 2262) stay as they are, and GX takes
    its slow path for that batch.
    """
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) and frame[c].dtype != object]
    changed: dict[str, pd.Series] = {column: frame[column].astype("category") for column in text}
    dates = frame["prev_sold_date"]
    if dates.dtype != "datetime64[ns]" and pd.api.types.is_datetime64_dtype(dates):
        present = dates.dropna()
        if not len(present) or (present.min() >= pd.Timestamp.min and present.max() <= pd.Timestamp.max):
            changed["prev_sold_date"] = dates.astype("datetime64[ns]")
    return frame.assign(**changed)


def _rejection(parsed: ParsedRows, config: BatchChecks) -> str | None:
    rows, needed = len(parsed.frame), config.min_rows
    if rows < needed:
        return f"the batch has {rows} rows, at least {needed} needed; ask the data API for the next batch"
    missing = [c for c in config.required_columns if c not in parsed.fields_received]
    if missing:
        return (
            f"required columns missing from every row: {', '.join(missing)}; "
            "the feed's schema changed, check the data API before processing this batch again"
        )
    return None


def _hard_failures(parsed: ParsedRows, rows_result: Mapping[str, Any], rules: list[Rule]) -> dict[int, str]:
    """Reason per failing row: an unreadable value first, then the first rule (in config order) it breaks.

    Great Expectations says which rows fail; the reason is the one cleaning gives (`rule_violations`), so a
    row reads the same whichever stage quarantines it.
    """
    failed = {
        int(item["raw_row_id"])
        for result in rows_result["results"]
        for item in (result.get("result") or {}).get("unexpected_index_list") or []
    }
    rows = parsed.frame[parsed.frame["raw_row_id"].isin(failed)]
    reasons = rule_violations(rows, rules)
    failures = {int(row_id): reason for row_id, reason in zip(rows["raw_row_id"], reasons, strict=True) if reason}
    unreadable = parsed.unreadable.notna().to_numpy()
    for row_id, reason in zip(parsed.frame["raw_row_id"][unreadable], parsed.unreadable[unreadable], strict=True):
        failures[int(row_id)] = reason
    return dict(sorted(failures.items()))


def _summary(
    label: str,
    rows: int,
    documents: Mapping[str, Mapping[str, Any]],
    failures: Mapping[int, str],
    rejected: str | None,
    config: ValidationConfig,
) -> dict[str, Any]:
    results = [r for document in documents.values() for r in document["results"]]
    failed = [
        f"{r['expectation_config']['type']}({r['expectation_config']['kwargs'].get('column', 'table')})"
        for r in results
        if not r["success"]
    ]
    return {
        "batch": label,
        "rows": rows,
        "success": rejected is None and not failed,
        "rejected": rejected,
        "expectations": {"evaluated": len(results), "failed": len(failed)},
        "failed_expectations": failed,
        "hard_failures": len(failures),
        "top_reasons": dict(Counter(failures.values()).most_common(config.report.top_reasons)),
    }


def _write(
    folder: Path,
    summary: dict[str, Any],
    documents: Mapping[str, Any],
    failures: Mapping[int, str],
    config: ValidationConfig,
) -> ValidationOutcome:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "validation.json", folder / "validation.html"
    document = {"summary": summary, "suites": documents, "hard_failures": {str(k): v for k, v in failures.items()}}
    json_path.write_text(json.dumps(document, indent=1, default=str))
    html_path.write_text(render_html(summary, documents, config.report.examples))
    return ValidationOutcome(summary["success"], json_path, html_path, summary, dict(failures))
