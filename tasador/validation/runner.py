"""Runs suites on pandas frames in an ephemeral Great Expectations context (nothing is written by GX)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.expectations import Expectation


@dataclass(frozen=True)
class SuiteRun:
    """One suite to run: the frame it checks, its expectations and how much detail to return."""

    frame: pd.DataFrame
    expectations: list[Expectation]
    result_format: dict[str, Any]


def run_suites(runs: Mapping[str, SuiteRun]) -> dict[str, ExpectationSuiteValidationResult]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Pipeline logs want our summary, not GX's progress bars and info lines.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("tasador")
    results = {}
    for name, run in runs.items():
        batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=run.expectations))
        definition = gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        results[name] = definition.run(batch_parameters={"dataframe": run.frame}, result_format=run.result_format)
    return results
