"""Build time and size of a component image (buildah, no Docker daemon): cold, then cached.

    sudo python -m benchmarks.image_build [--component data-api]

Needs buildah and the base image from deploy/containers/base/build-base.sh. A first build fills the
layer cache (it is cold when nothing is cached yet); the cached rebuild then reuses the pip layer, as a
developer's rebuild after a code change does; the cold build ignores every cached layer (pip downloads
and installs the requirements). Prints wall-clock seconds and the image size.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from benchmarks.harness import arguments

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE = "localhost/python:3.11-slim"
BUILDAH = ["buildah", "--storage-driver", "overlay"]


def build(component: str, tag: str, *, cached: bool) -> float:
    folder = REPO_ROOT / "deploy" / "containers" / component
    command = [
        *BUILDAH, "bud", "--isolation", "chroot", "--pull-never", "--layers",
        *([] if cached else ["--no-cache"]),
        "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
        "--ignorefile", str(folder / "Containerfile.dockerignore"),
        "-f", str(folder / "Containerfile"), "-t", tag, str(REPO_ROOT),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def image_size_mb(tag: str) -> float:
    inspect = subprocess.run([*BUILDAH, "inspect", "--type", "image", tag], check=True, capture_output=True)
    manifest = json.loads(json.loads(inspect.stdout)["Manifest"])
    return sum(layer["size"] for layer in manifest["layers"]) / 1e6


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--component", default="data-api")
    args = parser.parse_args()
    tag = f"localhost/tasador-{args.component}:benchmark"
    first = build(args.component, tag, cached=True)
    cached = build(args.component, tag, cached=True)
    cold = build(args.component, tag, cached=False)
    size = image_size_mb(tag)
    print(
        f"{args.component}: first build {first:.1f} s, cached rebuild {cached:.1f} s, "
        f"cold build {cold:.0f} s, layers {size:.0f} MB"
    )
    subprocess.run([*BUILDAH, "rmi", tag], capture_output=True)


if __name__ == "__main__":
    main()
