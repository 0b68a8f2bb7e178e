"""Roll `production` back: to the version it served before the current one, or to a named version.

One alias update (the service follows it like a promotion: on the registry's event, or at its next poll),
recorded as an alias move (tasador.registry.alias_moves) and as tags on both versions, so each version's page in
MLflow says when and why it was rolled back from, or restored to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasador.registry.alias_moves import AliasMove, move_alias, moves, production_version

if TYPE_CHECKING:
    from mlflow import MlflowClient


class RollbackRefused(Exception):
    """Nothing to roll back to, or the named version cannot serve."""


def rollback(client: MlflowClient, name: str, alias: str, reason: str, to: str | None = None) -> AliasMove:
    """Move `alias` to `to` (default: the version it pointed at before the current one) and record why."""
    if not reason.strip():
        raise RollbackRefused("Say why with --reason: the rollback is recorded with it.")
    current = production_version(client, name, alias)
    if current is None:
        raise RollbackRefused(f"No version of '{name}' is '{alias}': there is nothing to roll back.")
    current_version = str(current.version)
    target = str(to) if to is not None else previous_version(client, name, alias, current_version)
    if target is None:
        raise RollbackRefused(
            f"Version {current_version} is the first '{alias}' of '{name}': name the version with --to."
        )
    if target == current_version:
        raise RollbackRefused(f"Version {target} already is '{alias}'; name another one with --to.")
    _require_version(client, name, target)
    move = move_alias(client, name, alias, target, "rollback", reason.strip())
    at = move.at.isoformat()
    for version, tags in (
        (current_version, {"rolled_back_at": at, "rolled_back_reason": move.reason, "rolled_back_to": target}),
        (target, {"restored_at": at, "restored_reason": move.reason, "restored_from": current_version}),
    ):
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
    return move


def previous_version(client: MlflowClient, name: str, alias: str, current: str) -> str | None:
    """The version `alias` pointed at before it moved to `current` (recorded move, else the promotion's tag)."""
    for move in reversed(moves(client, name, alias)):
        if move.to_version == current:
            return move.from_version
    return client.get_model_version(name, current).tags.get("previous_production") or None


def _require_version(client: MlflowClient, name: str, version: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, version)
    except MlflowException as error:
        raise RollbackRefused(
            f"'{name}' has no version {version}; `python run.py model history` lists the versions that served."
        ) from error
