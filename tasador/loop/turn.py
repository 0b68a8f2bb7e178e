"""One turn of the loop without ZenML: the training pipeline's stages in the pipeline's order.

pipelines/training.py is the loop as users run it; this is the same chain as plain calls, for the tests
that check the loop's behaviour and the benchmark that measures what ZenML adds around it.
"""

from __future__ import annotations

from typing import Any

from tasador.cleaning.stage import clean
from tasador.ingest.stage import store_raw_batch
from tasador.model.stage import explain, train
from tasador.monitoring.served import served_stage
from tasador.monitoring.stage import check_and_decide
from tasador.registry.stage import evaluate_and_promote
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation.stage import validate


def run_batch(store: Store, settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """Store, validate, clean, decide, read served traffic back, train, promote and explain one fetched batch.

    `payload` is `next_batch`'s dict.

    Returns each stage's result by name, and the batch's id in RAW.
    """
    batch_id = store_raw_batch(store, payload)
    report = validate(store, settings, batch_id)
    cleaned = clean(store, settings, batch_id, report)
    decision = check_and_decide(store, settings, batch_id, cleaned)
    served = served_stage(store, settings, batch_id, decision)
    training = train(store, settings, batch_id, decision)
    promotion = evaluate_and_promote(store, settings, batch_id, training)
    explanation = explain(store, settings, batch_id, promotion)
    return {
        "batch_id": batch_id,
        "report": report,
        "cleaned": cleaned,
        "decision": decision,
        "training": training,
        "promotion": promotion,
        "explanation": explanation,
        "served": served,
    }
