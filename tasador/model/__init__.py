"""The price model: features, training, holdout, evaluation, explanation, MLflow packaging.

Names are imported on first use, so the service can load a Predictor without importing optuna,
shap or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tasador.model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
