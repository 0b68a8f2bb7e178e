"""Build the service into a bento that carries its model, and that bento into an OCI image.

`build_bento` copies the service's code into a scratch build context, downloads a registered version
beside it (model/, with the registry's description of it) and builds from bentofile.yaml with
TASADOR_MODEL_DIR set: the image serves that version without reaching MLflow. The bento's version is
`v<model version>-<git sha>`, so an image says which model and which code it holds; the deployment
pipeline reuses a bento or image of that tag instead of failing on it (same model, same commit).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from tasador.configs import REPO_ROOT
from tasador.serving.model_watcher import BUNDLE_INFO_FILE, registry_info
from tasador.settings import Settings

BENTOFILE = REPO_ROOT / "bentofile.yaml"
#: Where the bento's files land inside BentoML's image (its build context is copied to src/).
IMAGE_MODEL_DIR = "/home/bentoml/bento/src/model"
_CODE = ("bento", "tasador", "stacks", "configs")


def bento_version(model_version: str, git_sha: str) -> str:
    return f"v{model_version}-{git_sha[:12]}"


def git_sha(repo: Path = REPO_ROOT) -> str:
    """The commit the code comes from; 'nogit' outside a repository or before the first commit."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "nogit"
    return result.stdout.strip()


def bundle_model(settings: Settings, version: str, target: Path) -> Path:
    """Download registered `version` to `target` with the info /model shows (no MLflow needed later)."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    name = settings.registered_model_name
    registered = mlflow.MlflowClient().get_model_version(name, version)
    target.mkdir(parents=True, exist_ok=True)
    mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(target))
    (target / BUNDLE_INFO_FILE).write_text(registry_info(name, registered).model_dump_json(indent=2))
    return target


class ImageBuildError(RuntimeError):
    """The bento's image could not be built; the message says why and what to do."""


class BentoBuild(BaseModel):
    """What the deployment pipeline did: the bento (built now or found), and the image where one was wanted."""

    model: str  # "tasador-price v3"
    bento: str  # its tag, tasador_price:v3-<sha>
    bento_reused: bool  # a bento of that tag (same model version, same commit) was already in the store
    image: str | None = None  # the image's tag, when there is one
    image_reused: bool = False
    image_note: str = ""  # why there is no image, or what went wrong building it
    image_failed: bool = False  # an image was wanted and could not be built (the run fails, bento kept)


def build_bento(settings: Settings, version: str) -> str:
    """Build the bento of model `version` (as registered in `settings`' MLflow); returns its tag."""
    import bentoml

    options = _bentofile()
    sha = git_sha()
    with tempfile.TemporaryDirectory(prefix="tasador-bento-") as tmp:
        context = Path(tmp)
        for folder in _CODE:
            shutil.copytree(REPO_ROOT / folder, context / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        bundle_model(settings, version, context / "model")
        options["labels"] = {**options.get("labels", {}), "model_version": str(version), "git_sha": sha}
        options["envs"] = [*options.get("envs", []), {"name": "TASADOR_MODEL_DIR", "value": IMAGE_MODEL_DIR}]
        bentofile = context / "bentofile.yaml"
        bentofile.write_text(yaml.safe_dump(options, sort_keys=False))
        bento = bentoml.bentos.build_bentofile(
            str(bentofile), version=bento_version(version, sha), build_ctx=str(context)
        )
    return str(bento.tag)


def base_image() -> str:
    """The image every bento image starts FROM (bentofile.yaml's `docker.base_image`)."""
    return _bentofile()["docker"]["base_image"]


def image_exists(name: str) -> bool:
    """Whether buildah's store holds image `name` (buildah is installed)."""
    return subprocess.run(["buildah", "inspect", "--type", "image", name], capture_output=True).returncode == 0


def containerize(tag: str, image_tag: str | None = None) -> str:
    """Build the bento's OCI image with buildah (no Docker daemon, no pulls); returns the image tag.

    Raises ImageBuildError saying what to do when buildah or the base image is missing, or the build fails.
    """
    if shutil.which("buildah") is None:
        raise ImageBuildError(
            "buildah is not installed: apt-get install buildah, or build with "
            "`bentoml containerize` where a Docker daemon runs."
        )
    base = base_image()
    if not image_exists(base):
        raise ImageBuildError(
            f"the base image {base} is missing: build it with `sudo deploy/containers/base/build-base.sh` "
            "(debootstrap + buildah), or skip the image with `--no-image`."
        )
    image = image_tag or f"localhost/{tag}"
    command = [
        sys.executable, "-m", "bentoml", "containerize", tag,
        "--backend", "buildah", "--opt", "pull-never", "--image-tag", image,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ImageBuildError(f"`bentoml containerize {tag}` failed (exit {result.returncode}):\n{tail}")
    return image


def build_production_bento(settings: Settings, image: bool = True) -> BentoBuild:
    """The deployment pipeline's job: bento (and image) of the version `production` points at.

    A bento or image of the same tag (same model version and commit) is reused, not built again.
    `image` builds the OCI image where buildah is installed; False skips it.
    """
    import bentoml
    import mlflow

    from tasador.registry.alias_moves import production_version

    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    production = production_version(client, settings.registered_model_name, settings.production_alias)
    if production is None:
        raise RuntimeError(
            f"No `{settings.production_alias}` model in {settings.tracking_uri}: "
            "run `python run.py --pipeline training` first."
        )
    version = str(production.version)
    wanted = bento_version(version, git_sha())
    found = next((str(b.tag) for b in bentoml.list() if b.tag.version == wanted), None)
    bento = found or build_bento(settings, version)
    result = BentoBuild(
        model=f"{settings.registered_model_name} v{version}", bento=bento, bento_reused=found is not None
    )
    if not image:
        return result.model_copy(update={"image_note": "not built (--no-image)"})
    if shutil.which("buildah") is None:
        note = "not built: buildah is not installed (apt-get install buildah; or `bentoml containerize` with Docker)"
        return result.model_copy(update={"image_note": note})
    image_tag = f"localhost/{bento}"
    if image_exists(image_tag):
        return result.model_copy(update={"image": image_tag, "image_reused": True})
    try:
        return result.model_copy(update={"image": containerize(bento, image_tag)})
    except ImageBuildError as exc:
        return result.model_copy(update={"image_note": f"not built: {exc}", "image_failed": True})


def _bentofile() -> dict[str, Any]:
    return yaml.safe_load(BENTOFILE.read_text())
