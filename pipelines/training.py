from __future__ import annotations

from zenml import pipeline

from steps import (
    check_served_traffic,
    clean_batch,
    decide_retrain,
    explain_model,
    fetch_batch,
    promote_model,
    store_raw,
    summarize_batch,
    train_model,
    validate_batch,
)
from steps.hooks import training_failed


@pipeline(enable_cache=False, on_failure=training_failed)
def training(group_number: int | None = None) -> None:
    """One turn of the continuous-training loop: the next batch, from arrival to the production alias.

    Args:
        group_number: data API group to take the batch from (default: settings' TASADOR_GROUP_NUMBER).
    """
    # Data: arrive, keep as received, report, clean.
    raw_batch = fetch_batch(group_number=group_number)
    batch_id = store_raw(raw_batch)
    data_report = validate_batch(batch_id)
    clean_summary = clean_batch(batch_id, data_report)

    # Monitoring: drift against the production model's training data, and the decision with its reason.
    decision = decide_retrain(batch_id, clean_summary)
    # Served traffic since the last batch against the same model's training data, by the same drift code.
    served = check_served_traffic(batch_id, decision)

    # Model lifecycle, when retraining is due (each step passes through otherwise).
    training_run = train_model(batch_id, decision)
    promotion = promote_model(batch_id, training_run)
    explanation = explain_model(batch_id, promotion)

    summarize_batch(batch_id, data_report, clean_summary, decision, promotion, explanation, served)
