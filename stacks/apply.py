"""Register a stack file's components and stack in ZenML, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from stacks.spec import ComponentSpec, StackSpec, load_spec

if TYPE_CHECKING:  # ZenML is imported when a stack is applied, not when this module is
    from zenml.client import Client

Action = Literal["registered", "updated", "unchanged", "skipped"]


@dataclass(frozen=True)
class Applied:
    kind: str
    name: str
    action: Action
    note: str = ""  # why it was skipped, and what to do


def apply_stack(path: Path, home: Path, *, activate: bool = False) -> list[Applied]:
    """Make ZenML's store match the stack file: create what is missing, update what differs.

    Then the registry's webhook, when the file names one (the service reloads on the alias's event).
    """
    from zenml.client import Client

    from stacks.webhook import apply_registry_webhook
    from tasador.settings import Settings

    spec = load_spec(path, home)
    client = Client()
    applied = [_apply_secret(client, name, values) for name, values in spec.secrets.items()]
    applied += [_apply_component(client, component) for component in spec.components]
    applied.append(_apply_stack(client, spec))
    if spec.registry_webhook_url is not None:
        applied.append(apply_registry_webhook(spec, Settings()))
    if activate:
        client.activate_stack(spec.name)
    return applied


def _apply_secret(client: Client, name: str, values: dict[str, str]) -> Applied:
    try:
        existing = client.get_secret(name, allow_partial_name_match=False, allow_partial_id_match=False)
    except KeyError:
        client.create_secret(name=name, values=values)
        return Applied("secret", name, "registered")
    if existing.secret_values == values:
        return Applied("secret", name, "unchanged")
    client.update_secret(name, add_or_update_values=values)
    return Applied("secret", name, "updated")


def _apply_component(client: Client, spec: ComponentSpec) -> Applied:
    from zenml.enums import StackComponentType

    ctype = StackComponentType(spec.type)
    try:
        existing = client.get_stack_component(ctype, spec.name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack_component(
            name=spec.name, flavor=spec.flavor, component_type=ctype, configuration=spec.configuration
        )
        return Applied(spec.type, spec.name, "registered")
    if existing.flavor_name != spec.flavor:
        raise ValueError(
            f"Component {spec.name} exists with flavor {existing.flavor_name}, not {spec.flavor}: "
            f"remove it with `zenml {spec.type.replace('_', '-')} delete {spec.name}` and apply again."
        )
    current = {k: v for k, v in existing.configuration.items() if k in spec.configuration}
    if current == spec.configuration:
        return Applied(spec.type, spec.name, "unchanged")
    client.update_stack_component(spec.name, ctype, configuration=spec.configuration)
    return Applied(spec.type, spec.name, "updated")


def _apply_stack(client: Client, spec: StackSpec) -> Applied:
    from zenml.enums import StackComponentType

    components = {StackComponentType(c.type): c.name for c in spec.components}
    try:
        existing = client.get_stack(spec.name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(name=spec.name, components=components, labels=spec.labels)
        return Applied("stack", spec.name, "registered")
    current = {t: c[0].name for t, c in existing.components.items()}
    if current == components and (existing.labels or {}) == spec.labels:
        return Applied("stack", spec.name, "unchanged")
    client.update_stack(
        spec.name, component_updates=components, labels=spec.labels, description=spec.description or None
    )
    return Applied("stack", spec.name, "updated")
