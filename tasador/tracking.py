"""Point MLflow at the settings' tracking store and make sure tasador's experiment exists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasador.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient


def is_local_store(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri


def configure_mlflow(settings: Settings) -> MlflowClient:
    """Set MLflow's tracking and registry URIs; create the experiment when missing.

    A local store (SQLite) keeps its artifacts under the settings' home, not in `./mlruns` of whatever
    folder the process happens to run in.
    """
    import mlflow

    uri = settings.tracking_uri
    if is_local_store(uri):
        settings.ensure_home()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(uri, uri)
    if client.get_experiment_by_name(settings.experiment_name) is None:
        location = (settings.home_dir / "mlartifacts").as_uri() if is_local_store(uri) else None
        client.create_experiment(settings.experiment_name, artifact_location=location)
    mlflow.set_experiment(settings.experiment_name)
    return client
