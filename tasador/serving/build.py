"""Build the service into a bento that carries its model, and that bento into an OCI image.

`build_bento` copies the service's code into a scratch build context, downloads a registered version
beside it (model/, with the registry's description of it) and builds from bentofile.yaml with
TASADOR_MODEL_DIR set: the image serves that version without reaching MLflow. The bento's version is
`v<model version>-<git sha>`, so an image says which model and which code it holds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tasador.serving.model_watcher import BUNDLE_INFO_FILE, registry_info
from tasador.settings import REPO_ROOT, Settings

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


def build_bento(settings: Settings, version: str) -> str:
    """Build the bento of model `version` (as registered in `settings`' MLflow); returns its tag."""
    import bentoml

    options: dict[str, Any] = yaml.safe_load(BENTOFILE.read_text())
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


def containerize(tag: str, image_tag: str | None = None) -> str:
    """Build the bento's OCI image with buildah (no Docker daemon, no pulls); returns the image tag."""
    if shutil.which("buildah") is None:
        raise RuntimeError(
            "buildah is not installed: apt-get install buildah, or build with "
            "`bentoml containerize` where a Docker daemon runs."
        )
    image = image_tag or f"localhost/{tag}"
    command = [
        sys.executable, "-m", "bentoml", "containerize", tag,
        "--backend", "buildah", "--opt", "pull-never", "--image-tag", image,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return image


def build_production_bento(settings: Settings, containerize_image: bool | None = None) -> dict[str, str]:
    """The deployment pipeline's job: bento (and image) of the version `production` points at.

    `containerize_image` None builds the image only where buildah is installed.
    """
    import mlflow

    from tasador.registry import production_version

    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    production = production_version(client, settings.registered_model_name, settings.production_alias)
    if production is None:
        raise RuntimeError(
            f"No `{settings.production_alias}` model in {settings.tracking_uri}: "
            "run `python run.py --pipeline training` first."
        )
    version = str(production.version)
    result = {"model": f"{settings.registered_model_name} v{version}", "bento": build_bento(settings, version)}
    wanted = shutil.which("buildah") is not None if containerize_image is None else containerize_image
    result["image"] = containerize(result["bento"]) if wanted else "not built (buildah not installed)"
    return result
