"""Security of what we ship: no secret in the repository, credentials only from the environment, a size
limit on every HTTP service, models only through the registry alias, and dependencies audited in CI.
(Images run as non-root: tests/deploy/test_containerfiles.py and, built, tests/integration/test_service_image.py;
workflows under zizmor: tests/deploy/test_workflows.py.)"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO_ROOT

#: detect-secrets' record of audited findings that are not secrets (a Secret's name, a file's checksum, ...).
BASELINE = ".secrets.baseline"
CREDENTIAL_NAME = re.compile(r"pass(word|wd)?|secret|token|access_key|api_key|private_key|credential", re.I)
#: `${VAR}` / `${VAR:-dev default}` (expanded from the environment) or `{{secret.key}}` (a ZenML secret).
ENV_OR_SECRET_REFERENCE = re.compile(r"^(\$\{[A-Z_][A-Z0-9_]*(:-[^}]*)?\}|\{\{\s*[\w.]+\s*\}\})$")
ENV_REFERENCE = re.compile(r"\$\{[^}]*\}")
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s]+)@")
#: Python whose string literals are checked for hard-coded credentials (tests may plant their own).
CODE = ("tasador", "stacks", "steps", "pipelines", "bento", "ui", "airflow", "deploy", "benchmarks", "run.py")
#: Literals that look like credentials and are not: each with the reason.
ALLOWED_LITERALS = {
    ("tasador/services/config.py", "DEV_S3_SECRET"): "moto's dev S3 server takes any key; a real one gets "
    "AWS_SECRET_ACCESS_KEY from the environment, which wins over this default",
}


# --- no secret in the repository -------------------------------------------------------------------------
def repository_files(root: Path) -> list[str]:
    """What is or will be committed: tracked files and untracked ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    return sorted({name for name in listed if name != BASELINE and (root / name).is_file()})


def new_secrets(root: Path, files: list[str]) -> list[str]:
    """Findings of detect-secrets (the baseline's plugins and filters) that the baseline does not list."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import transient_settings

    baseline = json.loads((root / BASELINE).read_text())
    audited = {(name, r["type"], r["hashed_secret"]) for name, results in baseline["results"].items() for r in results}
    found = SecretsCollection(root=str(root))
    with transient_settings(baseline):
        for name in files:
            found.scan_file(name)
    # Matched by file, kind and hash (not line): editing around a known finding does not make it new.
    return [
        f"{name}:{secret.line_number} {secret.type}"
        for name, secret in found
        if (name, secret.type, secret.secret_hash) not in audited
    ]


@pytest.mark.slow  # reads every file of the repository (about 10 s of CPU)
def test_no_secret_in_the_repository() -> None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the files to scan are the ones git tracks")
    found = new_secrets(REPO_ROOT, repository_files(REPO_ROOT))
    assert found == [], (
        f"possible secrets: {found}. Move them to the environment; if one is not a secret, record it with "
        f"`detect-secrets scan --baseline {BASELINE}` and `detect-secrets audit {BASELINE}`."
    )


def test_the_scan_finds_a_secret_planted_in_a_copy(tmp_path: Path) -> None:
    # A copy of a few files, one with a known false positive that the baseline lists, one with a planted key.
    for name in (BASELINE, "tasador/services/config.py", "configs/services.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    key_id = "AKIA" + "J7QK2XW5RZ4MNP3T"  # split, so that this file itself holds no key
    secret_key = "".join(["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYzq8TnK3vLw9s"])
    planted = tmp_path / "configs" / "services.yaml"
    planted.write_text(planted.read_text() + f"s3_key: {key_id}\ns3_secret_key: {secret_key}\n")
    files = [BASELINE, "tasador/services/config.py", "configs/services.yaml"]

    found = new_secrets(tmp_path, files)
    assert any(f.startswith("configs/services.yaml:") and "AWS Access Key" in f for f in found), found
    assert not [f for f in found if f.startswith("tasador/")], "the baseline's audited findings came back"


# --- credentials only from the environment -----------------------------------------------------------------
def _scalars(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, key, value) of every scalar in a YAML document."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _scalars(value, f"{path}.{key}") or []] + [
            (f"{path}.{key}", str(key), value) for key, value in node.items() if not isinstance(value, dict | list)
        ]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in _scalars(value, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize(
    "yaml_file", sorted([*(REPO_ROOT / "configs").glob("*.yaml"), *(REPO_ROOT / "stacks").glob("*.yaml")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)  # fmt: skip
def test_config_and_stack_files_hold_no_credentials(yaml_file: Path) -> None:
    document = yaml.safe_load(yaml_file.read_text())
    for where, key, value in _scalars(document):
        if value in (None, "") or not isinstance(value, str):
            continue
        if CREDENTIAL_NAME.search(key):
            assert ENV_OR_SECRET_REFERENCE.match(value), f"{where}: a credential written in the file, not a reference"
        # `${PGUSER:-postgres}` has a colon of its own: references go first, then no password may be left.
        in_url = URL_PASSWORD.findall(ENV_REFERENCE.sub("ENV", value))
        assert set(in_url) <= {"ENV"}, f"{where}: a URL with a password in it"


def _literal_credentials(path: Path) -> list[tuple[str, int]]:
    """(name, line) of string literals given to credential-like names: `x_password = "..."`, `token="..."`."""

    def literal(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != ""

    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if CREDENTIAL_NAME.search(name) and literal(node.value):
                    found.append((name, node.lineno))
        elif isinstance(node, ast.keyword) and node.arg and CREDENTIAL_NAME.search(node.arg) and literal(node.value):
            found.append((node.arg, node.value.lineno))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if literal(key) and CREDENTIAL_NAME.search(key.value) and literal(value):  # type: ignore[union-attr]
                    found.append((key.value, value.lineno))  # type: ignore[union-attr]
    return found


def test_code_holds_no_credential_literals() -> None:
    files = [
        p
        for entry in CODE
        for p in ([REPO_ROOT / entry] if entry.endswith(".py") else (REPO_ROOT / entry).rglob("*.py"))
    ]
    assert len(files) > 50, "the code was not found"
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line} {name}"
        for path in files
        for name, line in _literal_credentials(path)
        if (str(path.relative_to(REPO_ROOT)), name) not in ALLOWED_LITERALS
    ]
    assert found == [], f"credentials written in the code (read them from the environment): {found}"


def test_database_mlflow_and_s3_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasador.services.config import s3_credentials
    from tasador.settings import Settings

    password = "".join(["from-the-", "environment"])
    app_db = f"postgresql+psycopg://app:{password}@db.internal:5432/tasador"
    monkeypatch.setenv("TASADOR_DB_URL", app_db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.internal")
    monkeypatch.setenv("PGUSER", "tasador")
    monkeypatch.setenv("PGPASSWORD", password)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-" + password)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-" + password)

    settings = Settings()
    assert (settings.database_url, settings.tracking_uri) == (app_db, "https://mlflow.internal")
    assert f"://tasador:{password}@" in Settings().configs.services.database_url
    assert s3_credentials() == {"AWS_ACCESS_KEY_ID": "key-" + password, "AWS_SECRET_ACCESS_KEY": "secret-" + password}


# --- a size limit on every HTTP service -----------------------------------------------------------------
def test_the_data_api_refuses_oversized_requests(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from tasador.data_api.feeds import build_feed
    from tasador.data_api.server import create_app
    from tasador.settings import Settings

    config = Settings().configs.datasource
    limit = config.server.max_request_bytes
    app = create_app(build_feed(config, batch_size=10, batches=1), tmp_path, config.server)

    async def statuses() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://data-api") as client:
            return [
                (await client.get("/health")).status_code,
                (await client.request("GET", "/health", content=b"x" * (limit + 1))).status_code,
                (await client.get("/health", params={"pad": "x" * limit})).status_code,
            ]

    assert asyncio.run(statuses()) == [200, 413, 413]


def test_every_service_config_bounds_its_requests() -> None:
    from tasador.settings import Settings

    # The price service: tests/integration/test_service.py and test_service_faults.py send the bodies.
    assert 0 < Settings().configs.serving.api.max_body_bytes <= 10_000_000
    assert 0 < Settings().configs.datasource.server.max_request_bytes <= 1_000_000


# --- models only through the registry alias ------------------------------------------------------------
@pytest.mark.slow  # trains and registers a small model
def test_the_service_serves_only_what_the_alias_points_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasador.configs import WatchConfig
    from tasador.serving.model_watcher import ModelWatcher
    from tasador.settings import Settings
    from tests.support.service import mlflow_at, register_version, set_production, synthetic_listings, train_predictor

    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    frame = synthetic_listings(rows=300)
    version = register_version(tracking_uri, train_predictor(frame), frame, {"decision": "rejected"})
    settings = Settings(home=tmp_path, mlflow_tracking_uri=tracking_uri)
    watcher = ModelWatcher(settings, WatchConfig(interval_s=60, mlflow_timeout_s=5, mlflow_max_retries=0))
    with mlflow_at(tracking_uri):
        watcher.check()
        assert watcher.current is None and watcher.status == "no_model", "served a version without the alias"
        assert f"alias '{settings.production_alias}'" in watcher.detail
        set_production(tracking_uri, version)
        watcher.check()
    assert watcher.current is not None and watcher.current.version == version


def test_a_model_folder_is_served_only_as_bundled_from_the_registry(tmp_path: Path) -> None:
    from tasador.configs import WatchConfig
    from tasador.serving.model_watcher import BUNDLE_INFO_FILE, ModelWatcher
    from tasador.settings import Settings

    folder = tmp_path / "some-model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    watcher = ModelWatcher(
        Settings(home=tmp_path), WatchConfig(interval_s=60, mlflow_timeout_s=5, mlflow_max_retries=0), folder
    )
    with pytest.raises(FileNotFoundError, match=BUNDLE_INFO_FILE):
        watcher.start()
    assert watcher.current is None


# --- dependency audit -----------------------------------------------------------------------------------
def test_dependencies_are_audited_in_ci_with_a_pinned_pip_audit() -> None:
    pin = re.search(r"^pip-audit==[\w.]+$", (REPO_ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pin, "pip-audit is not pinned in requirements-dev.txt"
    assert re.search(rf"^{re.escape(pin.group(0))}$", (REPO_ROOT / "constraints.txt").read_text(), re.I | re.M)
    jobs = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    runs = [step.get("run", "") for job in jobs.values() for step in job["steps"]]
    assert any("pip-audit==" in run and "requirements-dev.txt" in run for run in runs), "not installed at the pin"
    audits = [run for run in runs if run.strip().startswith("pip-audit")]
    assert audits and all("constraints.txt" in run and "--strict" in run for run in audits), audits
