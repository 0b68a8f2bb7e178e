"""Which version served when: every move of the serving alias, promotions and rollbacks alike.

Each move is one tag of the registered model, `alias_move.<sequence>`, holding the move as JSON. The record
lives beside the alias it describes, in the registry every stack has: no second database to keep in step
with MLflow, one backup for both, and `MlflowClient().get_registered_model(name).tags` reads the whole
timeline in one call. The alias moves first (one `set_registered_model_alias` call), then the record is
written; a process that dies in between leaves the alias moved, and `record_missing_move` finishes the
record when the promotion is judged again.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from tasador.registry.shadow import ShadowReplay

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

TAG_PREFIX = "alias_move."
MoveKind = Literal["promotion", "rollback"]


class AliasMove(BaseModel):
    """One move of the alias: when, why, from which version to which, by whom."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    at: dt.datetime
    kind: MoveKind
    alias: str
    from_version: str | None
    to_version: str
    reason: str
    by: str
    shadow: ShadowReplay | None = None  # how far served prices would have moved (promotions that replayed)


class ServedPeriod(BaseModel):
    """A stretch of time one version served, and the move that started it."""

    model_config = ConfigDict(frozen=True)

    version: str
    since: dt.datetime
    until: dt.datetime | None  # None: serving now
    started_by: AliasMove


def moves(client: MlflowClient, name: str, alias: str | None = None) -> list[AliasMove]:
    """The recorded moves of `name`'s aliases (of `alias` only when given), oldest first."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    try:
        tags = client.get_registered_model(name).tags
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return []
        raise
    recorded = [AliasMove.model_validate_json(value) for key, value in tags.items() if key.startswith(TAG_PREFIX)]
    return sorted((m for m in recorded if alias is None or m.alias == alias), key=lambda m: m.sequence)


def served_periods(history: list[AliasMove]) -> list[ServedPeriod]:
    """The versions that served, in order, each until the next move (the last one serves now)."""
    return [
        ServedPeriod(version=move.to_version, since=move.at, until=following and following.at, started_by=move)
        for move, following in zip(history, [*history[1:], None], strict=True)
    ]


def production_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version `alias` points at, or None when the model or the alias does not exist yet."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return None
        raise
    version = aliases.get(alias)
    return None if version is None else client.get_model_version(name, str(version))


def move_alias(
    client: MlflowClient,
    name: str,
    alias: str,
    to_version: str,
    kind: MoveKind,
    reason: str,
    shadow: ShadowReplay | None = None,
) -> AliasMove:
    """Point `alias` at `to_version` in one registry call, then record the move."""
    current = production_version(client, name, alias)
    client.set_registered_model_alias(name, alias, str(to_version))
    return _record(
        client, name, alias, str(current.version) if current else None, str(to_version), kind, reason, shadow
    )


def record_missing_move(
    client: MlflowClient, name: str, alias: str, version: str, kind: MoveKind, reason: str, previous: str | None
) -> AliasMove | None:
    """Record a move the alias made whose record was lost (the process died in between); None if recorded."""
    history = moves(client, name, alias)
    if history and history[-1].to_version == str(version):
        return None
    return _record(client, name, alias, previous, str(version), kind, reason, None)


def _record(
    client: MlflowClient,
    name: str,
    alias: str,
    from_version: str | None,
    to_version: str,
    kind: MoveKind,
    reason: str,
    shadow: ShadowReplay | None,
) -> AliasMove:
    history = moves(client, name)
    move = AliasMove(
        sequence=(history[-1].sequence + 1) if history else 1,
        at=dt.datetime.now(dt.UTC),
        kind=kind,
        alias=alias,
        from_version=from_version or None,
        to_version=to_version,
        reason=reason,
        by=_actor(),
        shadow=shadow,
    )
    client.set_registered_model_tag(name, f"{TAG_PREFIX}{move.sequence:06d}", move.model_dump_json())
    return move


def _actor() -> str:
    """Who moved the alias: the OS user (a container without a passwd entry has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
