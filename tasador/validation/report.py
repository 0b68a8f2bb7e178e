"""A validation report a person can open: one HTML page per batch, rendered from the JSON document.

GX 1.x keeps Data Docs for file contexts only; our context is ephemeral, so the page is ours: per suite a
table of expectations with pass/fail, observed value, unexpected count and examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).parent / "templates"
#: What each suite means for the batch, as the report explains it.
SUITE_TITLES = {
    "batch": "Batch shape (hard: a failure rejects the whole batch)",
    "rows": "Row rules (hard: failing rows are quarantined)",
    "feed": "Feed quality (soft: reported only)",
}
_HIDDEN_ARGUMENTS = {"batch_id", "column", "meta"}
#: The hard row rules pass with `mostly` (a batch with a few bad rows is kept), but every row they let
#: through is quarantined: for these the report says so instead of "pass".
_QUARANTINING_SUITE = "rows"


@dataclass(frozen=True)
class Check:
    """One expectation's outcome, flattened for people."""

    suite: str
    expectation: str
    column: str
    arguments: str
    success: bool
    status: str  # "pass", "FAIL", or "quarantined" (a hard row rule that passed with rows breaking it)
    observed: str
    unexpected: str
    examples: list[str]
    error: str | None


def checks(suites: Mapping[str, Mapping[str, Any]], examples: int) -> list[Check]:
    """Every expectation of every suite, failures first within a suite."""
    flat = [_check(name, result, examples) for name, suite in suites.items() for result in suite["results"]]
    order = list(suites)
    return sorted(flat, key=lambda c: (order.index(c.suite), c.success, c.column, c.expectation))


def _check(suite: str, result: Mapping[str, Any], examples: int) -> Check:
    config = result["expectation_config"]
    kwargs = config["kwargs"]
    details = result.get("result") or {}
    count, percent = details.get("unexpected_count"), details.get("unexpected_percent")
    success = bool(result["success"])
    if not success:
        status = "FAIL"
    elif suite == _QUARANTINING_SUITE and count:
        status = "quarantined"
    else:
        status = "pass"
    return Check(
        suite=suite,
        expectation=config["type"].removeprefix("expect_").replace("_", " "),
        column=str(kwargs.get("column", "(table)")),
        arguments=", ".join(f"{k}={_short(v)}" for k, v in kwargs.items() if k not in _HIDDEN_ARGUMENTS),
        success=success,
        status=status,
        observed=_short(details.get("observed_value", "")),
        unexpected="" if count is None else f"{count} ({percent or 0:.2f}%)",
        # A missing value (None, NaN, NaT) as an example of "not null" failing says nothing: only real values.
        examples=[_short(v) for v in (details.get("partial_unexpected_list") or []) if not _missing(v)][:examples],
        error=_error(result.get("exception_info") or {}),
    )


def _missing(value: Any) -> bool:
    return value is None or value in ("NaT", "nan", "NaN") or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _error(info: Mapping[str, Any]) -> str | None:
    # GX nests exception info per metric when one fails to compute; a flat dict otherwise.
    candidates: Iterable[Any] = [info, *info.values()]
    for item in candidates:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message") or "the expectation could not be evaluated")
    return None


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_html(summary: Mapping[str, Any], suites: Mapping[str, Mapping[str, Any]], examples: int) -> str:
    """The report page for the JSON document's summary and suite results."""
    template = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True).get_template("report.html.j2")
    return template.render(summary=summary, titles=SUITE_TITLES, checks=checks(suites, examples))
