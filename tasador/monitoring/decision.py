"""The retrain rule: every batch gets a decision and a reason a person can read, also when it is "no".

A retraining after the first needs a change, never volume alone: drift in the inputs (with effect sizes),
or production's error on the new data risen over its holdout error (the decay trigger of
tasador/monitoring/production_check.py). And the change must go beyond what the last training already saw: after a
rejected attempt the same drift waits for a further change or a few more batches of drifted data (so the
next challenger learns from more of it); after a promotion only a change past what that training answered
retrains. This stops the storm of one retraining per batch while a drift persists. A periodic refresh on
volume is still possible behind `retrain.scheduled_refresh` (configs/drift.yaml), off by default.
"""

from __future__ import annotations

from collections.abc import Mapping

from tasador.configs import DriftConfig
from tasador.monitoring.drift import DriftReport
from tasador.results import Decision, DriftedFeature, LastTraining, ProductionScore, Trigger


def decide(
    has_production: bool,
    drift: DriftReport | None,
    rows_since_training: int,
    config: DriftConfig,
    *,
    production: ProductionScore | None = None,
    last_training: LastTraining | None = None,
) -> Decision:
    """Retrain for the first model, or on a change (drift, decay) beyond what the last training saw.

    `config` is configs/drift.yaml; `drift` is None when there was nothing to compare with, and
    `production` when production was not priced on the batch (no model, or no priced row).
    """
    min_new_rows = config.retrain.min_new_rows
    drifted = [] if drift is None else drift.drifted_features()
    base = {
        "has_production": has_production,
        "rows_since_training": rows_since_training,
        "min_new_rows": min_new_rows,
        "drifted": drifted,
        "production": production,
        "last_training": last_training,
    }
    if not has_production:
        return Decision(retrain=True, trigger="first_model", reason="no production model yet", **base)

    decayed = production is not None and production.decay.fired
    changes = _changes(drifted, production if decayed else None)
    min_excess = config.decay.unseen.reason_min_excess
    context = _context(production, min_excess)
    volume = f"{rows_since_training:,} new rows since the last training"
    if rows_since_training >= min_new_rows:
        context = [volume, *context]
    if changes:
        trigger: Trigger = "drift" if drifted else "decay"
        if last_training is None:
            return Decision(retrain=True, trigger=trigger, reason=_join(changes, context), **base)
        growth = config.storm.growth
        beyond = _beyond(drifted, production, decayed, last_training, growth, min_excess)
        if beyond:
            words = f"beyond the last training ({last_training.label()}): {', '.join(beyond)}"
            return Decision(
                retrain=True,
                trigger=trigger,
                reason=_join(changes, [words, *context]),
                changes_beyond_last=beyond,
                **base,
            )
        patience = config.storm.patience_batches
        left = patience - last_training.batches_waited - 1
        what = "drift" if drifted else "production's error"
        if last_training.outcome == "rejected" and left <= 0:
            words = (
                f"{what} as at the last training ({last_training.label()}) for {patience} more batches: "
                "retraining on more of the drifted data"
            )
            return Decision(retrain=True, trigger="persisted", reason=_join([words, *changes], context), **base)
        wait = "waiting for a further change"
        if last_training.outcome == "rejected":
            wait += f" or {left} more batch{'es' if left > 1 else ''} of drifted data"
        words = f"{what} as at the last training ({last_training.label()}): {wait}"
        return Decision(retrain=False, trigger="waiting", reason=_join([words, *changes], context), **base)

    drift_words = "no drift report (nothing to compare with)" if drift is None else "no drift"
    if rows_since_training < min_new_rows:
        reason = f"{drift_words} and only {volume} (< {min_new_rows:,})"
        return Decision(retrain=False, trigger="none", reason=_join([reason], context), **base)
    if config.retrain.scheduled_refresh:
        reason = (
            f"scheduled refresh: {volume} (>= {min_new_rows:,}, retrain.scheduled_refresh is on); "
            f"nothing else changed ({'; '.join([drift_words, *context[1:]])})"
        )
        return Decision(retrain=True, trigger="scheduled", reason=reason, **base)
    reason = f"{volume}, but nothing changed ({'; '.join([drift_words, *context[1:]])})"
    return Decision(retrain=False, trigger="none", reason=reason, **base)


def nothing_new(rows_in: int, quarantined: Mapping[str, int], rows_since_training: int, min_new_rows: int) -> Decision:
    """The decision for a batch without a clean row: nothing to judge, said with what happened to its rows."""
    duplicates = quarantined.get("duplicate", 0)
    others = ", ".join(f"{reason} ({n:,})" for reason, n in quarantined.items() if reason != "duplicate")
    if duplicates:
        what = f"{duplicates:,} of {rows_in:,} rows were duplicates" + (
            f", the others quarantined: {others}" if others else ""
        )
    else:
        what = f"no clean row among {rows_in:,}" + (f", quarantined: {others}" if others else "")
    return Decision(
        retrain=False,
        trigger="nothing_new",
        reason=f"nothing new to judge: {what}",
        has_production=True,
        rows_since_training=rows_since_training,
        min_new_rows=min_new_rows,
    )


def _changes(drifted: list[DriftedFeature], decayed: ProductionScore | None) -> list[str]:
    changes = []
    if drifted:
        changes.append(f"drift in {', '.join(f.describe() for f in drifted)}")
    if decayed is not None:
        where = decayed.where()
        changes.append(f"production's error rose: {decayed.decay.describe()}" + (f", most in {where}" if where else ""))
    return changes


def _context(production: ProductionScore | None, min_excess: float) -> list[str]:
    """What a reason carries besides its trigger: production's error on the batch, categories never seen."""
    context = []
    if production is not None:
        if not production.decay.fired:
            context.append(f"production's {production.decay.describe()}")
        never = production.never_seen(min_excess)
        if never:
            context.append(f"never seen: {never}")
    return context


def _beyond(
    drifted: list[DriftedFeature],
    production: ProductionScore | None,
    decayed: bool,
    last: LastTraining,
    growth: float,
    min_excess: float,
) -> list[str]:
    """The changes the last training did not already see: new or grown drift, a larger decay, new states."""
    before = {f.name: f.severity for f in last.drifted}
    beyond = []
    for feature in drifted:
        # A feature not flagged then was at most at its threshold (severity 1): when the last training saw other
        # drift, one just past it now is the same drifting world measured again, and has to be clearly past.
        seen = before.get(feature.name)
        floor = 0.0 if seen is None and not before else (1.0 if seen is None else seen) * (1 + growth)
        if feature.severity <= floor:
            continue
        if seen is None:
            beyond.append(f"{feature.name} drifted since (severity {feature.severity:.2f})")
        else:
            beyond.append(f"{feature.name} severity {feature.severity:.2f} vs {seen:.2f} then")
    if production is None:
        return beyond
    severity = production.decay.severity
    if decayed and (last.decay_severity is None or severity > last.decay_severity * (1 + growth)):
        then = "no decay then" if last.decay_severity is None else f"{last.decay_severity:.2f} then"
        beyond.append(f"production's decay severity {severity:.2f} vs {then}")
    new_states = [s for s in unseen_states(production, min_excess) if s not in last.unseen_states]
    if new_states and (drifted or decayed):
        beyond.append(f"states never seen: {', '.join(new_states)}")
    return beyond


def unseen_states(production: ProductionScore | None, min_excess: float) -> list[str]:
    """The states of the batch production never saw (the most frequent few), beyond what chance brings."""
    if production is None:
        return []
    return [
        state
        for unseen in production.unseen
        if unseen.column == "state" and unseen.share - unseen.expected_share > min_excess
        for state in unseen.examples
    ]


def _join(head: list[str], tail: list[str]) -> str:
    return "; ".join([*head, *tail])
