"""The bento's package list (bentofile.yaml) holds every distribution the service imports.

A package missing there only shows when the image starts ("No module named 'orjson'", after orjson
joined requirements.txt but not the bento): here it shows in seconds, without building the image.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import REPO_ROOT

# Modules with a file: a bare namespace package (`backports` with nothing under it loaded) installs nothing.
MODULES = (
    "import sys{}; print(' '.join(sorted({{name.split('.')[0] for name, module in list(sys.modules.items())"
    " if getattr(module, '__file__', None)}})))"
)
#: Imported only when present (inside try/except ImportError), so the image runs without them.
OPTIONAL = {"tqdm": "mlflow.genai's simulator"}
#: This project, installed editable here; the bento carries its code itself (bentofile `include`).
PROJECT = "tasador"


def _listed_with_dependencies(specs: list[str]) -> set[str]:
    """The distributions the bento installs: its packages and everything they require, as installed here."""
    wanted = [Requirement(spec) for spec in specs]
    closure: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in closure:
            continue
        closure.add(name)
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                wanted.append(needed)
    return closure


def _top_level_modules(tmp_path: Path, imports: str) -> set[str]:
    env = os.environ | {"TASADOR_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    command = [sys.executable, "-c", MODULES.format(imports)]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def _imported_modules(tmp_path: Path) -> set[str]:
    """Third-party top-level modules that importing the service loads (not those the interpreter starts with)."""
    loaded = _top_level_modules(tmp_path, ", bento.service") - _top_level_modules(tmp_path, "")
    return {name for name in loaded if name not in sys.stdlib_module_names and name not in OPTIONAL}


def test_every_distribution_the_service_imports_is_in_the_bento(tmp_path: Path) -> None:
    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    installed = _listed_with_dependencies(bentofile["python"]["packages"])
    owners = metadata.packages_distributions()
    # A namespace module (opentelemetry, backports) belongs to several distributions: one of them is enough.
    missing = {
        module: owners[module]
        for module in _imported_modules(tmp_path)
        if module in owners
        and PROJECT not in owners[module]
        and not any(canonicalize_name(dist) in installed for dist in owners[module])
    }
    assert not missing, f"bentofile.yaml lacks what the service imports (module: distributions): {missing}"


def test_bentoml_build_from_the_repository_root_builds_the_service(tmp_path: Path) -> None:
    """`bentoml build` with no argument, as BentoML users type it, finds bentofile.yaml at the root."""
    env = os.environ | {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    command = [sys.executable, "-m", "bentoml", "build", "--output", "tag"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    tag = result.stdout.strip().rpartition("__tag__:")[2]
    assert tag.startswith("tasador_price:")
    bento = tmp_path / "bentoml" / "bentos" / "tasador_price" / tag.split(":")[1]
    assert yaml.safe_load((bento / "bento.yaml").read_text())["service"] == "bento.service:TasadorPrice"
    assert (bento / "src" / "bento" / "service.py").exists() and (bento / "src" / "configs" / "serving.yaml").exists()
    # The bento's own code reads a listing, with what the bento carries (its configs): as the image will.
    reading = (
        "from tasador.serving.schemas import Listing\n"
        "print(Listing.model_validate({'status': 'For Sale', 'state': 'texas', 'zip_code': '2127'}).zip_code)"
    )
    read = subprocess.run(
        [sys.executable, "-c", reading], cwd=bento / "src", env=env, capture_output=True, text=True, timeout=300
    )
    assert read.returncode == 0 and read.stdout.strip() == "02127", read.stderr[-2000:]
