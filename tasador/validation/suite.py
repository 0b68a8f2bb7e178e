"""The three Great Expectations suites of a batch (see configs/validation.yaml for what each is for).

Great Expectations takes seconds to import, so it is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasador.cleaning import Rule

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

#: Suite names, in the order the report shows them.
BATCH, ROWS, FEED = "batch", "rows", "feed"


def batch_expectations(config: Mapping[str, Any]) -> list[Expectation]:
    """Whole-batch checks on the fields as received; failing one rejects the batch."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=int(config["min_rows"])),
        # exact_match=False: extra fields are fine, missing ones are not.
        gxe.ExpectTableColumnsToMatchSet(column_set=list(config["required_columns"]), exact_match=False),
    ]


def row_expectations(rules: Sequence[Rule], mostly: float) -> list[Expectation]:
    """One expectation per cleaning rule; `meta.rule` is the rule's position, which decides the reason."""
    return [_expectation(rule, {"rule": index}, mostly) for index, rule in enumerate(rules)]


def _expectation(rule: Rule, meta: dict[str, Any], mostly: float) -> Expectation:
    import great_expectations.expectations as gxe

    common = {"column": rule.column, "meta": meta, "mostly": mostly}
    limit = rule.limit.to_pydatetime() if isinstance(rule.limit, pd.Timestamp) else rule.limit
    if rule.kind == "present":
        return gxe.ExpectColumnValuesToNotBeNull(**common)
    if rule.kind == "one_of":
        return gxe.ExpectColumnValuesToBeInSet(value_set=list(limit), **common)
    if rule.kind in ("min", "not_before"):
        return gxe.ExpectColumnValuesToBeBetween(min_value=limit, **common)
    if rule.kind == "above":
        return gxe.ExpectColumnValuesToBeBetween(min_value=limit, strict_min=True, **common)
    return gxe.ExpectColumnValuesToBeBetween(max_value=limit, **common)


def feed_expectations(config: Mapping[str, Any]) -> list[Expectation]:
    """Soft checks of completeness and plausibility: reported, never quarantining."""
    import great_expectations.expectations as gxe

    expectations: list[Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=float(share))
        for column, share in config["completeness"].items()
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=bounds["min"], max_value=bounds["max"], mostly=float(bounds["mostly"])
        )
        for column, bounds in config["plausible"].items()
    ]
    expectations.append(gxe.ExpectColumnValuesToMatchRegex(column="zip_code", regex=config["zip_code_pattern"]))
    return expectations
