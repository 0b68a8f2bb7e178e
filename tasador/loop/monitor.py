"""Compare the new clean batch with the production model's training data and decide whether to retrain."""

from __future__ import annotations

from typing import Any

from tasador.decision import decide
from tasador.drift import drift_report
from tasador.loop.models import ProductionModel, production_model
from tasador.settings import Settings, load_config
from tasador.store import Store


def check_and_decide(store: Store, settings: Settings, batch_id: int | None, cleaned: dict[str, Any]) -> dict[str, Any]:
    """Record, for every processed batch, whether to retrain, why, and the figures behind it."""
    if batch_id is None or cleaned.get("skipped"):
        return {"skipped": True, "retrain": False}
    config = load_config("drift")
    production = production_model(settings)
    current = store.clean_frame(batch_ids=[batch_id])
    drift = None
    if production is not None and production.batches:
        reference = store.clean_frame(batch_ids=production.batches)
        drift = drift_report(reference, current, config)
    rows_since = rows_since_training(store, production, batch_id)
    decision = decide(production is not None, drift, rows_since, config)
    figures = {
        "drift": drift.to_dict() if drift is not None else None,
        "rows_since_training": rows_since,
        "production_version": production.version if production else None,
        **decision.figures,
    }
    store.save_decision(batch_id, decision.retrain, decision.reason, figures)
    return {"skipped": False, "retrain": decision.retrain, "reason": decision.reason, "figures": figures}


def rows_since_training(store: Store, production: ProductionModel | None, batch_id: int) -> int:
    """CLEAN rows that arrived after the production model's last training batch, this batch included."""
    last = max(production.batches) if production and production.batches else 0
    ids = [b.id for b in store.batches() if last < b.id <= batch_id]
    return sum(store.count("clean_rows", b) for b in ids)
