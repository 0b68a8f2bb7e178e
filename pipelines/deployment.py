from __future__ import annotations

from zenml import pipeline

from steps.deployment.build_bento import build_bento


@pipeline(enable_cache=False)
def deployment(containerize: bool | None = None) -> None:
    """Package what `production` points at: a bento holding the model, and its OCI image where possible.

    Args:
        containerize: build the OCI image (None: only where buildah is installed).
    """
    build_bento(containerize=containerize)
