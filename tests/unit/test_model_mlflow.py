"""The model in MLflow: logged as pyfunc, loaded fast by the service, one nested run per search trial."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.types.schema import DataType

from tasador.model import Predictor, load_predictor, log_model, train_challenger
from tasador.model.train import validation_metric
from tasador.schema import FEATURE_COLUMNS
from tests.support.listings import clean_listings, quick_config


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One local MLflow store for the module (creating its database is the slow part)."""
    folder = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # run artifacts land under the working directory
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield mlflow.set_experiment("tasador").experiment_id
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


@pytest.fixture(scope="module")
def trained(experiment: str) -> tuple[Predictor, str]:
    """A challenger trained inside a run, and that run's id."""
    with mlflow.start_run() as run:
        predictor = train_challenger(clean_listings(600, seed=3), quick_config(), seed=7).predictor
    return predictor, run.info.run_id


def test_each_search_trial_is_a_nested_run(experiment: str, trained: tuple[Predictor, str]) -> None:
    _, run_id = trained
    children = mlflow.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{run_id}'")

    assert len(children) == quick_config().search.n_trials
    assert children[f"metrics.{validation_metric(quick_config())}"].notna().all()
    assert children["params.max_depth"].notna().all()


def test_logged_model_loads_fast_and_as_pyfunc(trained: tuple[Predictor, str]) -> None:
    predictor, _ = trained
    listings = clean_listings(30, seed=4)
    example = listings.head(3).assign(street=None)  # a column the example leaves empty is still typed
    with mlflow.start_run():
        uri = log_model(predictor, input_example=example)
    version = mlflow.register_model(uri, "tasador-price").version
    mlflow.MlflowClient().set_registered_model_alias("tasador-price", "production", version)
    expected = predictor.predict(listings)

    fast = load_predictor("models:/tasador-price@production")
    pyfunc = mlflow.pyfunc.load_model(uri)

    assert fast.version == str(version)
    assert {c.name: c.type for c in pyfunc.metadata.get_input_schema().inputs}["street"] == DataType.string
    np.testing.assert_array_equal(fast.predict(listings), expected)
    np.testing.assert_allclose(pyfunc.predict(listings[list(FEATURE_COLUMNS)]), expected)
    # Every column is optional in the signature: a partial listing is priced, not refused.
    partial = listings[["state", "zip_code", "house_size"]]
    assert np.isfinite(pyfunc.predict(partial)).all()


def test_a_model_that_is_not_ours_is_refused_by_name(experiment: str) -> None:
    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
            return model_input

    with mlflow.start_run():
        uri = mlflow.pyfunc.log_model(name="other", python_model=Echo(), pip_requirements=["mlflow"]).model_uri

    with pytest.raises(ValueError, match="not a tasador price model"):
        load_predictor(uri)
