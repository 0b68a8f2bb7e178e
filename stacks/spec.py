"""Stack files: parsing and placeholder expansion (no ZenML import here)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

DB_URL_LABEL = "tasador.db_url"


class StackSpecError(ValueError):
    """A stack file is malformed or names an environment variable that is not set."""


@dataclass(frozen=True)
class ComponentSpec:
    type: str  # a ZenML StackComponentType value: orchestrator, artifact_store, ...
    name: str
    flavor: str
    configuration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSpec:
    name: str
    description: str
    labels: dict[str, str]
    components: list[ComponentSpec]
    # ZenML secrets the components reference as `{{name.key}}`, filled from the environment at apply time.
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    # Where the registry's webhook tells the service that the alias moved (stacks/webhook.py); None: polling only.
    registry_webhook_url: str | None = None

    @property
    def tracking_uri(self) -> str | None:
        tracker = next((c for c in self.components if c.type == "experiment_tracker"), None)
        return None if tracker is None else tracker.configuration.get("tracking_uri")


def expand(value: Any, home: Path, *, environment: bool = True) -> Any:
    """Replace `{home}` and (when `environment`) `${VAR}` / `${VAR:-default}` in every string of `value`."""
    if isinstance(value, dict):
        return {k: expand(v, home, environment=environment) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, home, environment=environment) for v in value]
    if not isinstance(value, str):
        return value
    if not environment:
        return value.replace("{home}", str(home))

    def env(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise StackSpecError(f"Environment variable {name} is not set; export it before using this stack.")

    return _ENV.sub(env, value).replace("{home}", str(home))


def load_spec(path: Path, home: Path) -> StackSpec:
    """Read a stack YAML and expand its placeholders."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise StackSpecError(f"No stack file at {path}; the stack files are in stacks/.") from exc
    if not isinstance(raw, dict) or "name" not in raw or "components" not in raw:
        raise StackSpecError(f"{path} needs a `name` and `components` mapping.")
    # Labels keep their ${VAR} placeholders: they are stored in ZenML and expanded only at run time,
    # so a credential in an environment variable never lands in ZenML's store.
    labels = expand(raw.get("labels") or {}, home, environment=False)
    raw = expand({k: v for k, v in raw.items() if k != "labels"}, home)
    components = [
        ComponentSpec(
            type=ctype,
            name=spec["name"],
            flavor=spec["flavor"],
            configuration=dict(spec.get("configuration") or {}),
        )
        for ctype, spec in raw["components"].items()
    ]
    return StackSpec(
        name=raw["name"],
        description=raw.get("description", ""),
        labels={k: str(v) for k, v in labels.items()},
        components=components,
        secrets={name: {k: str(v) for k, v in values.items()} for name, values in (raw.get("secrets") or {}).items()},
        registry_webhook_url=(raw.get("registry_webhook") or {}).get("url"),
    )
