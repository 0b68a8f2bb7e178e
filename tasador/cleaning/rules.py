"""The rules a typed row must satisfy to enter CLEAN, from configs/cleaning.yaml.

Cleaning applies them to quarantine rows (`rule_violations`); validation turns each into a Great
Expectations expectation; the service checks a listing against the same rules. One module, so a rule
reads the same wherever it is applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from tasador.configs import CleaningConfig
from tasador.schema import STATES

RuleKind = Literal["present", "min", "above", "max", "one_of", "not_before", "not_after"]


@dataclass(frozen=True)
class Rule:
    """One rule a typed value must satisfy to enter CLEAN (validation turns each into an expectation)."""

    column: str
    kind: RuleKind
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


def rules_from(config: CleaningConfig, today: dt.date | None = None) -> list[Rule]:
    """The rules of configs/cleaning.yaml in the order they are applied (the first broken one is the reason)."""
    rules = [Rule(column, "present") for column in config.required]
    for column, bounds in config.numbers.items():
        limits: dict[RuleKind, float | None] = {"min": bounds.min, "above": bounds.above, "max": bounds.max}
        rules += [Rule(column, kind, limit) for kind, limit in limits.items() if limit is not None]
    rules.append(Rule("status", "one_of", tuple(config.statuses)))
    rules.append(Rule("state", "one_of", STATES))
    dates = config.prev_sold_date
    bounds_of_dates: dict[RuleKind, dt.date | str | None] = {
        "not_before": dates.not_before,
        "not_after": dates.not_after,
    }
    for kind, day in bounds_of_dates.items():
        if day is not None:
            when = (today or dt.datetime.now(dt.UTC).date()) if day == "today" else day
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
