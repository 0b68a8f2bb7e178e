"""Registration and promotion against a real MLflow store (SQLite in tmp_path): alias, tags, reasons."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tasador.configs import PromotionConfig
from tasador.registry.alias_moves import production_version
from tasador.registry.promotion import RecentHoldout, compare, promote_or_reject, register
from tasador.registry.tracking import configure_mlflow
from tasador.settings import Settings

ALIAS = "production"
PRODUCTION = {"rmse": 0.42, "mae": 0.30, "mdape": 19.5, "r2_log": 0.71}
WORSE = {"rmse": 0.43, "mae": 0.31, "mdape": 21.0, "r2_log": 0.70}
BETTER = {"rmse": 0.40, "mae": 0.28, "mdape": 18.2, "r2_log": 0.74}


class ConstantPrice(mlflow.pyfunc.PythonModel):
    """A stand-in model: the registry only needs something loadable behind each version."""

    def __init__(self, price: float) -> None:
        self.price = price

    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[float]:
        return [self.price] * len(model_input)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowClient]:
    # One store for the module (creating MLflow's schema takes seconds); each test has its own model name.
    home = tmp_path_factory.mktemp("mlflow")
    yield configure_mlflow(Settings(home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}"))
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture
def name() -> str:
    return f"tasador-price-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def config() -> PromotionConfig:
    return Settings().configs.promotion


def _log(price: float) -> tuple[str, str]:
    """Log a stand-in model in its own run; returns (model_uri, run_id)."""
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model", python_model=ConstantPrice(price), pip_requirements=[f"mlflow=={mlflow.__version__}"]
        )
    return info.model_uri, run.info.run_id


def _new_version(client: MlflowClient, name: str, price: float, batch: int) -> str:
    uri, run_id = _log(price)
    return register(client, name, uri, run_id, {"source_batch": batch})


def test_first_version_is_promoted_and_serves_through_the_alias(
    client: MlflowClient, name: str, config: PromotionConfig
) -> None:
    assert production_version(client, name, ALIAS) is None
    version = _new_version(client, name, 250_000.0, batch=1)

    promoted, reason = promote_or_reject(client, name, version, PRODUCTION, None, config, alias=ALIAS)

    assert promoted
    assert reason == "no production model yet (challenger mdape 19.5%)"
    assert str(production_version(client, name, ALIAS).version) == version
    tags = client.get_model_version(name, version).tags
    assert tags["decision"] == "promoted"
    assert tags["previous_production"] == ""
    assert tags["source_batch"] == "1"
    assert {k: float(tags[k]) for k in PRODUCTION} == PRODUCTION
    served = mlflow.pyfunc.load_model(f"models:/{name}@{ALIAS}")
    assert list(served.predict(pd.DataFrame({"bed": [3.0, 2.0]}))) == [250_000.0, 250_000.0]


def test_worse_challenger_is_rejected_with_its_reason_and_the_alias_stays(
    client: MlflowClient, name: str, config: PromotionConfig
) -> None:
    first = _new_version(client, name, 250_000.0, batch=1)
    promote_or_reject(client, name, first, PRODUCTION, None, config, alias=ALIAS)
    challenger = _new_version(client, name, 260_000.0, batch=2)

    promoted, reason = promote_or_reject(client, name, challenger, WORSE, PRODUCTION, config, alias=ALIAS)

    assert not promoted
    assert reason == "challenger mdape 21.0% vs production 19.5% (+7.7%, margin 1%): not better by the margin"
    assert str(production_version(client, name, ALIAS).version) == first
    tags = client.get_model_version(name, challenger).tags
    assert tags["decision"] == "rejected"
    assert tags["reason"] == reason
    assert tags["previous_production"] == first
    assert float(tags["mdape"]) == WORSE["mdape"]
    assert float(tags["production_mdape"]) == PRODUCTION["mdape"]


def test_better_challenger_is_promoted_and_the_alias_moves(
    client: MlflowClient, name: str, config: PromotionConfig
) -> None:
    first = _new_version(client, name, 250_000.0, batch=1)
    promote_or_reject(client, name, first, PRODUCTION, None, config, alias=ALIAS)
    challenger = _new_version(client, name, 270_000.0, batch=3)

    promoted, reason = promote_or_reject(client, name, challenger, BETTER, PRODUCTION, config, alias=ALIAS)

    assert promoted
    assert reason == "challenger mdape 18.2% vs production 19.5% (-6.7%, margin 1%)"
    assert str(production_version(client, name, ALIAS).version) == challenger
    assert client.get_model_version(name, challenger).tags["previous_production"] == first
    assert client.get_model_version(name, first).tags["decision"] == "promoted"  # its own record is kept
    served = mlflow.pyfunc.load_model(f"models:/{name}@{ALIAS}")
    assert list(served.predict(pd.DataFrame({"bed": [3.0]}))) == [270_000.0]


def test_calling_twice_changes_nothing(client: MlflowClient, name: str, config: PromotionConfig) -> None:
    uri, run_id = _log(250_000.0)
    version = register(client, name, uri, run_id, {"source_batch": 1})
    assert register(client, name, uri, run_id, {"source_batch": 1}) == version  # same run, same version

    first = promote_or_reject(client, name, version, PRODUCTION, None, config, alias=ALIAS)
    # Now it serves itself: judged again it would lose to its own figures; the recorded outcome must stand.
    again = promote_or_reject(client, name, version, PRODUCTION, PRODUCTION, config, alias=ALIAS)

    assert again == first
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == [version]
    assert str(production_version(client, name, ALIAS).version) == version


def test_rejected_version_stays_rejected_when_judged_again(
    client: MlflowClient, name: str, config: PromotionConfig
) -> None:
    first = _new_version(client, name, 250_000.0, batch=1)
    promote_or_reject(client, name, first, PRODUCTION, None, config, alias=ALIAS)
    challenger = _new_version(client, name, 260_000.0, batch=2)
    rejected = promote_or_reject(client, name, challenger, WORSE, PRODUCTION, config, alias=ALIAS)

    assert promote_or_reject(client, name, challenger, BETTER, PRODUCTION, config, alias=ALIAS) == rejected
    assert str(production_version(client, name, ALIAS).version) == first


def test_production_without_metrics_is_an_error_that_says_what_to_do(
    client: MlflowClient, name: str, config: PromotionConfig
) -> None:
    first = _new_version(client, name, 250_000.0, batch=1)
    promote_or_reject(client, name, first, PRODUCTION, None, config, alias=ALIAS)
    challenger = _new_version(client, name, 260_000.0, batch=2)

    with pytest.raises(ValueError, match="no production metrics were given: evaluate it"):
        promote_or_reject(client, name, challenger, BETTER, None, config, alias=ALIAS)
    assert "decision" not in client.get_model_version(name, challenger).tags


def test_guard_metric_blocks_a_promotion(config: PromotionConfig) -> None:
    challenger = {**BETTER, "rmse": 0.50}  # better mdape, but the large errors got much larger

    promote, reason = compare(challenger, PRODUCTION, config)

    assert not promote
    assert reason == (
        "challenger mdape 18.2% vs production 19.5% (-6.7%, margin 1%), but guard metrics got worse: "
        "rmse 0.5 vs 0.42 (+19.0%, tolerance 5%)"
    )


def test_improvement_below_the_margin_is_not_enough(config: PromotionConfig) -> None:
    promote, reason = compare({**PRODUCTION, "mdape": 19.4}, PRODUCTION, config)
    assert not promote
    assert "(-0.5%, margin 1%): not better by the margin" in reason


def test_missing_primary_metric_is_named(config: PromotionConfig) -> None:
    with pytest.raises(KeyError, match="lack 'mdape'"):
        compare({"rmse": 0.4}, PRODUCTION, config)


def test_the_recent_holdout_judges_first_and_the_whole_holdout_guards(config: PromotionConfig) -> None:
    """Trained on drifted data, a challenger wins where the service prices now; it may not forget the rest."""
    recent = RecentHoldout("batches 8-10, 600 rows", {**PRODUCTION, "mdape": 24.0}, {**PRODUCTION, "mdape": 27.5})
    same_overall = {**PRODUCTION, "mdape": 19.7}  # +1.0 % on the whole holdout: within the 5 % tolerance

    promote, reason = compare(same_overall, PRODUCTION, config, recent)
    assert promote
    assert reason == (
        "on the recent holdout (batches 8-10, 600 rows): challenger mdape 24.0% vs production 27.5% "
        "(-12.7%, margin 1%); whole holdout 19.7% vs 19.5% (+1.0%, tolerance 5%)"
    )

    forgets = {**PRODUCTION, "mdape": 21.5}  # +10 % on the whole holdout
    promote, reason = compare(forgets, PRODUCTION, config, recent)
    assert not promote
    assert reason.endswith("but guard metrics got worse: the whole holdout's mdape (the older data would be forgotten)")
