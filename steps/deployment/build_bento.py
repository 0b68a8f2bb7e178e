from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from steps import context
from tasador.serving.build import build_production_bento


@step
def build_bento(containerize: bool | None = None) -> Annotated[dict[str, Any], "bento"]:
    """Bento of the `production` model (versioned by model version and git sha), and its OCI image.

    Args:
        containerize: build the image too; None builds it only where a container builder (buildah) exists.
    """
    return build_production_bento(context.settings(), containerize_image=containerize)
