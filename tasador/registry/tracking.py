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


def end_abandoned_runs(client: MlflowClient, experiment_name: str, source_batch: int) -> list[str]:
    """Mark KILLED the runs of `source_batch` (and their trials) still RUNNING: a process that died left them.

    Called before a batch is trained again, when no other process trains it, so a run that stays RUNNING
    in the MLflow UI always is one in progress. Returns the ids of the runs ended.
    """
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    ids = [experiment.experiment_id]
    parents = client.search_runs(ids, f"tags.source_batch = '{source_batch}' and attributes.status = 'RUNNING'")
    ended = []
    for parent in parents:
        trials = client.search_runs(
            ids, f"tags.mlflow.parentRunId = '{parent.info.run_id}' and attributes.status = 'RUNNING'"
        )
        for run in [*trials, parent]:
            client.set_terminated(run.info.run_id, status="KILLED")
            ended.append(run.info.run_id)
    return ended
