"""The registered model `tasador-price`: new versions, challenger vs production, and the alias that serves.

Every version ends with a `decision` tag (promoted | rejected), a `reason` in words and figures, its
holdout metrics, and `previous_production` (the version the alias pointed at when it was judged).
A promotion moves the alias with one `set_registered_model_alias` call, so serving never sees a half
state, and records the move (tasador.registry.alias_moves); the `decision` tag is written last, which makes a
repeated call after a crash finish the job.
The rule's numbers live in `configs/promotion.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

from tasador.configs import PromotionConfig
from tasador.registry.alias_moves import move_alias, production_version, record_missing_move
from tasador.registry.shadow import ShadowReplay, hold_reason, shadow_tags
from tasador.schema import METRICS

PROMOTED, REJECTED = "promoted", "rejected"


class Outcome(NamedTuple):
    promoted: bool
    reason: str


class RecentHoldout(NamedTuple):
    """Both models on the holdout rows of the latest batches (what will be served), judged first."""

    label: str  # `batches 8-10, 612 rows`
    challenger: Mapping[str, float]
    production: Mapping[str, float]


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.create_registered_model(name, description="House prices (USD) from listings; alias serves.")
    except MlflowException as error:
        if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise


def register(client: MlflowClient, name: str, model_uri: str, run_id: str, tags: Mapping[str, Any]) -> str:
    """The number of a new version of `name` from `model_uri`; the run's version when registered before."""
    ensure_registered_model(client, name)
    existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    if existing:
        return str(max(int(v.version) for v in existing))
    # MLflow 3 logs models as LoggedModels (`models:/m-...`); the registry links a version to it by id.
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    created = client.create_model_version(
        name,
        source=model_uri,
        run_id=run_id,
        tags={key: str(value) for key, value in tags.items()},
        model_id=model_id,
    )
    return str(created.version)


def settle_unjudged_versions(client: MlflowClient, name: str, alias: str, source_batch: int) -> list[str]:
    """Finish the record of versions of `source_batch` whose run died before they were judged.

    Called before the batch is processed again: a version the alias already points at is `promoted` (the
    alias moved, only the final tag was lost); any other is `rejected` with the reason, so no version is
    left without a decision. Returns the versions settled.
    """
    current = production_version(client, name, alias)
    settled = []
    for version in client.search_model_versions(f"name = '{name}' and tag.source_batch = '{source_batch}'"):
        if version.tags.get("decision") in (PROMOTED, REJECTED):
            continue
        number = str(version.version)
        if current is not None and str(current.version) == number:
            client.set_model_version_tag(name, number, "decision", PROMOTED)
        else:
            reason = f"not judged: the run that registered it was interrupted; batch {source_batch} was processed again"
            client.set_model_version_tag(name, number, "reason", reason)
            client.set_model_version_tag(name, number, "decision", REJECTED)
        settled.append(number)
    return settled


def compare(
    challenger: Mapping[str, float],
    production: Mapping[str, float] | None,
    config: PromotionConfig,
    recent: RecentHoldout | None = None,
) -> Outcome:
    """Promote or not, with the reason: both metric sets must come from the SAME holdout.

    The primary metric must improve by a relative margin; every guard metric may worsen by at most
    its relative tolerance. With `recent`, that is judged on the recent holdout, and the whole holdout
    (`challenger`, `production`) guards against forgetting: its primary metric may worsen by at most
    `recent_holdout.whole_tolerance`. `config` is configs/promotion.yaml.
    """
    primary = config.primary
    metric, margin = primary.metric, primary.min_improvement
    percent = set(config.percent_metrics)
    _require(metric, challenger, "challenger")
    if production is None:
        return Outcome(
            True, f"no production model yet (challenger {metric} {_show(metric, challenger[metric], percent)})"
        )
    _require(metric, production, "production")
    whole = (challenger, production)
    if recent is not None:
        challenger, production = recent.challenger, recent.production

    gain = _relative_gain(challenger[metric], production[metric], primary.higher_is_better)
    head = (
        f"challenger {metric} {_show(metric, challenger[metric], percent)} vs production "
        f"{_show(metric, production[metric], percent)} ({_signed_change(challenger[metric], production[metric])}, "
        f"margin {margin:.0%})"
    )
    if recent is not None:
        head = f"on the recent holdout ({recent.label}): {head}; whole holdout {_whole(metric, *whole, config)}"
    if gain < margin:
        return Outcome(False, f"{head}: not better by the margin")

    broken = []
    for guard, rule in config.guards.items():
        if guard not in challenger or guard not in production:
            continue
        loss = -_relative_gain(challenger[guard], production[guard], rule.higher_is_better)
        if loss > rule.tolerance:
            broken.append(
                f"{guard} {_show(guard, challenger[guard], percent)} vs {_show(guard, production[guard], percent)} "
                f"({_signed_change(challenger[guard], production[guard])}, tolerance {rule.tolerance:.0%})"
            )
    if recent is not None and _forgets(metric, *whole, config):
        broken.append(f"the whole holdout's {metric} (the older data would be forgotten)")
    if broken:
        return Outcome(False, f"{head}, but guard metrics got worse: {'; '.join(broken)}")
    return Outcome(True, head)


def _whole(
    metric: str, challenger: Mapping[str, float], production: Mapping[str, float], config: PromotionConfig
) -> str:
    """`24.3% vs 24.1% (+0.8%, tolerance 5%)`: the whole holdout's primary figures as a guard."""
    percent = set(config.percent_metrics)
    tolerance = config.recent_holdout.whole_tolerance
    return (
        f"{_show(metric, challenger[metric], percent)} vs {_show(metric, production[metric], percent)} "
        f"({_signed_change(challenger[metric], production[metric])}, tolerance {tolerance:.0%})"
    )


def _forgets(
    metric: str, challenger: Mapping[str, float], production: Mapping[str, float], config: PromotionConfig
) -> bool:
    loss = -_relative_gain(challenger[metric], production[metric], config.primary.higher_is_better)
    return loss > config.recent_holdout.whole_tolerance


def promote_or_reject(
    client: MlflowClient,
    name: str,
    version: str,
    challenger_metrics: Mapping[str, float],
    production_metrics: Mapping[str, float] | None,
    config: PromotionConfig,
    alias: str = "production",
    shadow: ShadowReplay | None = None,
    recent: RecentHoldout | None = None,
) -> Outcome:
    """Judge `version` against production, record why on the version, and move `alias` when it wins.

    The metrics are on the whole holdout (they become the version's tags); `recent`, when given, is
    judged first (see `compare`). `shadow` is the challenger's replay of served requests (tasador.registry.shadow):
    kept on the version and the alias move, and the `shadow.guard` of `config` may hold a winner that moves
    served prices far. Idempotent: a version already judged keeps its recorded outcome.
    """
    version = str(version)
    judged = client.get_model_version(name, version)
    current = production_version(client, name, alias)
    if current is not None and str(current.version) == version:
        # Promoted before (maybe the process died before the final tag): only finish the record.
        previous = judged.tags.get("previous_production") or None
        record_missing_move(client, name, alias, version, "promotion", judged.tags.get("reason", ""), previous)
        client.set_model_version_tag(name, version, "decision", PROMOTED)
        return _recorded(client.get_model_version(name, version))
    if judged.tags.get("decision") in (PROMOTED, REJECTED):
        return _recorded(judged)
    if current is not None and production_metrics is None:
        raise ValueError(
            f"{name} version {current.version} serves as {alias!r} but no production metrics were given: "
            "evaluate it on the challenger's holdout and pass them, so the comparison is fair."
        )

    promote, reason = compare(
        challenger_metrics, production_metrics if current else None, config, recent if current else None
    )
    if promote and shadow is not None and current is not None and production_metrics is not None:
        primary = config.primary
        gain = _relative_gain(
            challenger_metrics[primary.metric], production_metrics[primary.metric], primary.higher_is_better
        )
        held = hold_reason(shadow, gain, config.shadow.guard)
        if held is not None:
            promote, reason = False, f"{reason}, but {held}"
    previous = str(current.version) if current is not None else ""
    tags = {metric: f"{float(challenger_metrics[metric]):.6g}" for metric in METRICS if metric in challenger_metrics}
    if production_metrics is not None and current is not None:
        tags |= {f"production_{m}": f"{float(production_metrics[m]):.6g}" for m in METRICS if m in production_metrics}
    if recent is not None and current is not None:
        tags |= {f"recent_{m}": f"{float(recent.challenger[m]):.6g}" for m in METRICS if m in recent.challenger}
        tags |= {
            f"production_recent_{m}": f"{float(recent.production[m]):.6g}" for m in METRICS if m in recent.production
        }
    tags |= {"reason": reason, "previous_production": previous} | (shadow_tags(shadow) if shadow else {})
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if promote:
        move_alias(client, name, alias, version, "promotion", reason, shadow)
    client.set_model_version_tag(name, version, "decision", PROMOTED if promote else REJECTED)
    return Outcome(promote, reason)


def _recorded(version: ModelVersion) -> Outcome:
    return Outcome(version.tags.get("decision") == PROMOTED, version.tags.get("reason", ""))


def _require(metric: str, metrics: Mapping[str, float], side: str) -> None:
    if metric not in metrics:
        raise KeyError(
            f"The {side} metrics lack {metric!r} (got {sorted(metrics)}); evaluate both models with "
            "tasador.model.evaluate on the same holdout."
        )


def _relative_gain(challenger: float, production: float, higher_is_better: bool) -> float:
    """How much better the challenger is, relative to production (negative when worse)."""
    scale = abs(production) or 1e-12
    gain = (challenger - production) / scale
    return gain if higher_is_better else -gain


def _signed_change(challenger: float, production: float) -> str:
    return f"{(challenger - production) / (abs(production) or 1e-12):+.1%}"


def _show(metric: str, value: float, percent: set[str]) -> str:
    return f"{value:.1f}%" if metric in percent else f"{value:.4g}"
