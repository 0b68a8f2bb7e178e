"""ZenML steps: thin, typed wrappers around tasador's loop stages (one stage per folder)."""

from steps.cleaning.clean_batch import clean_batch
from steps.history.summarize_batch import summarize_batch
from steps.ingest.fetch_batch import fetch_batch
from steps.ingest.store_raw import store_raw
from steps.model.explain_model import explain_model
from steps.model.train_model import train_model
from steps.monitoring.check_served_traffic import check_served_traffic
from steps.monitoring.decide_retrain import decide_retrain
from steps.promotion.promote_model import promote_model
from steps.validation.validate_batch import validate_batch

__all__ = [
    "check_served_traffic",
    "clean_batch",
    "decide_retrain",
    "explain_model",
    "fetch_batch",
    "promote_model",
    "store_raw",
    "summarize_batch",
    "train_model",
    "validate_batch",
]
