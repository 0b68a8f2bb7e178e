"""The retrain rule: every batch gets a decision and a reason a person can read, also when it is "no"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tasador.drift import DriftReport


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)


def decide(
    has_production: bool, drift: DriftReport | None, rows_since_training: int, config: Mapping[str, Any]
) -> Decision:
    """Retrain when there is no production model, when drift is flagged, or when enough data arrived.

    `config` is `load_config("drift")`; `drift` is None when there was nothing to compare with.
    """
    min_new_rows = int(config["retrain"]["min_new_rows"])
    figures: dict[str, Any] = {
        "has_production": has_production,
        "rows_since_training": rows_since_training,
        "min_new_rows": min_new_rows,
        "drifted_features": [] if drift is None else [f.name for f in drift.flagged],
    }
    if not has_production:
        return Decision(True, "no production model yet", figures)

    triggers = []
    if drift is not None and drift.drifted:
        triggers.append(f"drift in {drift.summary()}")
    if rows_since_training >= min_new_rows:
        triggers.append(f"{rows_since_training:,} new rows since the last training (>= {min_new_rows:,})")
    if triggers:
        return Decision(True, "; ".join(triggers), figures)

    drift_words = "no drift report (nothing to compare with)" if drift is None else "no drift"
    return Decision(
        False,
        f"{drift_words} and only {rows_since_training:,} new rows since the last training (< {min_new_rows:,})",
        figures,
    )
