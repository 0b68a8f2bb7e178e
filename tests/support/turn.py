"""One turn of the loop without ZenML, for the tests and the benchmark that measures what ZenML adds.

pipelines/training.py defines the chain; this calls the same stage functions in the same order, by the
same artifact names (`Turn`'s fields, which tests/integration/test_training_pipeline.py checks against a
real pipeline run).
"""

from __future__ import annotations

from tasador.cleaning.stage import clean
from tasador.ingest.stage import store_raw_batch
from tasador.model.stage import explain, train
from tasador.monitoring.stage import check_and_decide, served_stage
from tasador.promotion.stage import evaluate_and_promote
from tasador.results import FetchedBatch, Turn
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation.stage import validate


def run_batch(store: Store, settings: Settings, fetched: FetchedBatch) -> Turn:
    """Store, validate, clean, decide, read served traffic back, train, promote and explain one fetched batch."""
    batch_id = store_raw_batch(store, fetched)
    data_report = validate(store, settings, batch_id)
    clean_summary = clean(store, settings, batch_id, data_report)
    decision = check_and_decide(store, settings, batch_id, clean_summary)
    served = served_stage(store, settings, batch_id, decision)
    training = train(store, settings, batch_id, decision)
    promotion = evaluate_and_promote(store, settings, batch_id, training)
    explanation = explain(store, settings, batch_id, promotion)
    return Turn(
        batch_id=batch_id,
        data_report=data_report,
        clean_summary=clean_summary,
        decision=decision,
        served=served,
        training=training,
        promotion=promotion,
        explanation=explanation,
    )
