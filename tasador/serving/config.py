"""Where the service finds MLflow and RAW (tasador.settings); its numbers are `Settings.configs.serving`."""

from __future__ import annotations

from tasador.settings import Settings


def resolve_settings() -> Settings:
    """The settings the service runs with: those of the active ZenML stack, so `zenml stack set` is enough.

    Environment variables still win; without ZenML (the image) the environment and defaults apply.
    """
    from stacks.resolve import active_settings

    return active_settings(Settings())
