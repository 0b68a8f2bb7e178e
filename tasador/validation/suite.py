"""The three Great Expectations suites of a batch (see configs/validation.yaml for what each is for).

Great Expectations takes seconds to import, so it is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasador.cleaning.rules import Rule
from tasador.configs import BatchChecks, FeedChecks

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

#: Suite names, in the order the report shows them.
BATCH, ROWS, FEED = "batch", "rows", "feed"


def batch_expectations(config: BatchChecks) -> list[Expectation]:
    """Whole-batch checks on the fields as received; failing one rejects the batch."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=config.min_rows),
        # exact_match=False: extra fields are fine, missing ones are not.
        gxe.ExpectTableColumnsToMatchSet(column_set=list(config.required_columns), exact_match=False),
    ]


def row_expectations(rules: Sequence[Rule], mostly: float) -> list[Expectation]:
    """The cleaning rules as expectations, in their order: one per presence or allowed-values rule, and one
    per column for its bounds together (`meta.rules`: the rules' positions).

    A column's bounds make one range (price: above 0, at most 100M), so a batch runs 10 expectations for
    17 rules; Great Expectations spends a fixed time per expectation whatever the batch size. Which rule a
    failing row breaks is the cleaning rules' to say (`rule_violations`), as in the cleaning stage.
    """
    expectations: list[Expectation] = []
    ranged: set[str] = set()
    for index, rule in enumerate(rules):
        if not _is_bound(rule):
            expectations.append(_expectation(rule, [index], mostly))
        elif rule.column not in ranged:  # the range goes where the column's first bound is
            ranged.add(rule.column)
            indices = [i for i, other in enumerate(rules) if other.column == rule.column and _is_bound(other)]
            expectations.append(_range([rules[i] for i in indices], indices, mostly))
    return expectations


def _is_bound(rule: Rule) -> bool:
    return rule.kind not in ("present", "one_of")


def _expectation(rule: Rule, indices: list[int], mostly: float) -> Expectation:
    import great_expectations.expectations as gxe

    meta = {"rules": indices}
    if rule.kind == "present":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta, mostly=mostly)
    return gxe.ExpectColumnValuesToBeInSet(value_set=list(rule.limit), column=rule.column, meta=meta, mostly=mostly)


def _range(bounds: list[Rule], indices: list[int], mostly: float) -> Expectation:
    """One range that a value leaves exactly when it breaks one of the column's bounds: the tightest lower
    bound (the strict one where a strict and an inclusive bound meet) and the tightest upper bound."""
    import great_expectations.expectations as gxe

    limits: dict[str, Any] = {}
    lower = [rule for rule in bounds if rule.kind in ("min", "above", "not_before")]
    upper = [rule for rule in bounds if rule.kind in ("max", "not_after")]
    if lower:
        tightest = max(lower, key=lambda rule: (rule.limit, rule.kind == "above"))
        limits |= {"min_value": _gx_limit(tightest.limit), "strict_min": tightest.kind == "above"}
    if upper:
        limits["max_value"] = _gx_limit(min(rule.limit for rule in upper))
    return gxe.ExpectColumnValuesToBeBetween(column=bounds[0].column, meta={"rules": indices}, mostly=mostly, **limits)


def _gx_limit(limit: Any) -> Any:
    return limit.to_pydatetime() if isinstance(limit, pd.Timestamp) else limit


def feed_expectations(config: FeedChecks) -> list[Expectation]:
    """Soft checks of completeness and plausibility: reported, never quarantining."""
    import great_expectations.expectations as gxe

    expectations: list[Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=share) for column, share in config.completeness.items()
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=bounds.min, max_value=bounds.max, mostly=bounds.mostly
        )
        for column, bounds in config.plausible.items()
    ]
    expectations.append(gxe.ExpectColumnValuesToMatchRegex(column="zip_code", regex=config.zip_code_pattern))
    return expectations
