"""The price model: features, training, holdout, evaluation, explanation, MLflow packaging.

Names are imported on first use, so the service can load a Predictor without importing optuna,
shap or matplotlib (importing them all up front costs seconds; the package alone, milliseconds).
The same names, imported for the type checker only, give callers their real types.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasador.model.baseline import BaselinePredictor, train_baseline
    from tasador.model.evaluation import evaluate, evaluation_plots
    from tasador.model.explain import shap_summary
    from tasador.model.features import FeatureEncoder
    from tasador.model.holdout import split_holdout
    from tasador.model.predictor import Explanation, Predictor
    from tasador.model.pyfunc import TasadorPriceModel, load_predictor, log_model
    from tasador.model.train import TrainResult, train_challenger

_EXPORTS = {
    "FeatureEncoder": "tasador.model.features",
    "Predictor": "tasador.model.predictor",
    "Explanation": "tasador.model.predictor",
    "TasadorPriceModel": "tasador.model.pyfunc",
    "log_model": "tasador.model.pyfunc",
    "load_predictor": "tasador.model.pyfunc",
    "TrainResult": "tasador.model.train",
    "train_challenger": "tasador.model.train",
    "BaselinePredictor": "tasador.model.baseline",
    "train_baseline": "tasador.model.baseline",
    "split_holdout": "tasador.model.holdout",
    "evaluate": "tasador.model.evaluation",
    "evaluation_plots": "tasador.model.evaluation",
    "shap_summary": "tasador.model.explain",
}

__all__ = [
    "BaselinePredictor",
    "Explanation",
    "FeatureEncoder",
    "Predictor",
    "TasadorPriceModel",
    "TrainResult",
    "evaluate",
    "evaluation_plots",
    "load_predictor",
    "log_model",
    "shap_summary",
    "split_holdout",
    "train_baseline",
    "train_challenger",
]


def __getattr__(name: str) -> Any:  # Any: the TYPE_CHECKING imports above give each name its type
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tasador.model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
