"""The Predictor as an MLflow model: logged as pyfunc (so `mlflow models serve` works), loaded fast.

The pyfunc flavour wraps the Predictor's saved files as the artifact `predictor`. The service and the
UI skip pyfunc: `load_predictor` downloads those files and builds the Predictor directly.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb
from mlflow.models import Model, ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel, PythonModelContext  # `mlflow.pyfunc` is a lazy loader to the checker
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

from tasador.model.predictor import Predictor
from tasador.schema import DATE_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS

ARTIFACT_KEY = "predictor"
ENTRY_FILE = Path(__file__).with_name("mlflow_entry.py")
_SCHEMA_TYPES = {
    c: DataType.double if c in NUMERIC_COLUMNS else DataType.datetime if c in DATE_COLUMNS else DataType.string
    for c in FEATURE_COLUMNS
}


class TasadorPriceModel(PythonModel):
    """pyfunc wrapper: clean listing columns in, prices in dollars out."""

    def load_context(self, context: PythonModelContext) -> None:
        self.predictor = Predictor.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        return self.predictor.predict(model_input)


def log_model(
    predictor: Predictor,
    name: str = "model",
    input_example: pd.DataFrame | None = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
) -> str:
    """Log to the active MLflow run (or a new one) and return the model URI to load or register.

    Without a signature, it is inferred from `input_example` (the 11 feature columns) with every
    column optional: the model accepts missing columns and values.
    """
    if signature is None and input_example is not None:
        example = input_example[list(FEATURE_COLUMNS)] if set(FEATURE_COLUMNS) <= set(input_example) else input_example
        input_example = example
        signature = _optional_columns(infer_signature(example, predictor.predict(example)))
    with tempfile.TemporaryDirectory() as tmp:
        files = predictor.save(Path(tmp) / ARTIFACT_KEY)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(ENTRY_FILE),
            artifacts={ARTIFACT_KEY: str(files)},
            input_example=input_example,
            signature=signature,
            registered_model_name=registered_model_name,
            # Listed, not inferred: inference imports the model in a subprocess (slow, and fragile here).
            pip_requirements=[
                f"mlflow=={mlflow.__version__}",
                f"xgboost=={xgb.__version__}",
                f"pandas=={pd.__version__}",
                f"numpy=={np.__version__}",
                f"scikit-learn=={sklearn.__version__}",
            ],
        )
    return info.model_uri


def load_predictor(model_uri: str, dst_path: str | Path | None = None) -> Predictor:
    """The Predictor behind `model_uri` (runs:/, models:/name@alias, models:/name/3, a path)."""
    target = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="tasador-model-"))
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(target)))
    flavor = Model.load(local / "MLmodel").flavors.get("python_function", {})
    artifacts = flavor.get("artifacts", {})
    if ARTIFACT_KEY not in artifacts:
        raise ValueError(
            f"{model_uri} is not a tasador price model (no '{ARTIFACT_KEY}' artifact); "
            "log models with tasador.model.pyfunc.log_model."
        )
    predictor = Predictor.load(local / artifacts[ARTIFACT_KEY]["path"])
    if predictor.version is None:
        predictor.version = _registered_version(model_uri)
    return predictor


def _optional_columns(signature: ModelSignature) -> ModelSignature:
    """Every column optional; a column the example left empty gets its type from the schema, not Any."""
    inputs = Schema(
        [
            ColSpec(
                _SCHEMA_TYPES.get(c.name, c.type) if isinstance(c.type, AnyType) else c.type, c.name, required=False
            )
            for c in signature.inputs.inputs
        ]
    )
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


def _registered_version(model_uri: str) -> str | None:
    """models:/name@alias or models:/name/3 → the version number as text; None for other URIs."""
    if not model_uri.startswith("models:/"):
        return None
    reference = model_uri.removeprefix("models:/")
    client = mlflow.MlflowClient()
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return str(client.get_model_version_by_alias(name, alias).version)
    name, _, version = reference.partition("/")
    return version or None
