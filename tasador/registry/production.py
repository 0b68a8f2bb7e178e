"""The production model as the loop sees it: version, training batches, holdout metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from tasador.registry.alias_moves import production_version
from tasador.registry.tracking import configure_mlflow
from tasador.schema import METRICS
from tasador.settings import Settings


@dataclass(frozen=True)
class ProductionModel:
    version: str
    run_id: str
    batches: list[int] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def parse_batches(tag: str | None) -> list[int]:
    return [int(b) for b in (tag or "").split(",") if b.strip()]


def production_model(settings: Settings) -> ProductionModel | None:
    client = configure_mlflow(settings)
    version = production_version(client, settings.registered_model_name, settings.production_alias)
    if version is None:
        return None
    if version.run_id is None:
        raise ValueError(
            f"Version {version.version} of {settings.registered_model_name} has no MLflow run: point "
            f"{settings.production_alias} at a version that training registered."
        )
    tags = version.tags or {}
    return ProductionModel(
        version=str(version.version),
        run_id=version.run_id,
        batches=parse_batches(tags.get("batches")),
        metrics={m: float(tags[m]) for m in METRICS if m in tags},
    )
