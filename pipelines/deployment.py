from __future__ import annotations

from zenml import pipeline

from steps.serving.build_bento import build_bento


@pipeline(enable_cache=False)
def deployment(image: bool = True) -> None:
    """Package what `production` points at: a bento holding the model, and its OCI image where possible.

    Args:
        image: build the OCI image where buildah is installed (`--no-image`: False).
    """
    build_bento(image=image)
