from __future__ import annotations

from typing import Annotated

from zenml import step

from steps import context
from tasador.serving.build import BentoBuild, build_production_bento


@step
def build_bento(image: bool = True) -> Annotated[BentoBuild, "bento"]:
    """Bento of the `production` model (versioned by model version and git sha), and its OCI image.

    Args:
        image: build the image too, where a container builder (buildah) is installed.
    """
    return build_production_bento(context.settings(), image=image)
