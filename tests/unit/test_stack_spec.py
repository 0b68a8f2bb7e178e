"""Stack files: placeholders expand from the environment, credentials never reach ZenML's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.spec import DB_URL_LABEL, StackSpecError, load_spec

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return path


def test_local_stack_lives_under_home(tmp_path: Path) -> None:
    spec = load_spec(REPO / "stacks" / "local.yaml", tmp_path)
    by_type = {c.type: c for c in spec.components}
    assert by_type["artifact_store"].configuration["path"] == f"{tmp_path}/artifacts"
    assert by_type["experiment_tracker"].configuration["tracking_uri"] == f"sqlite:///{tmp_path}/mlflow.db"
    assert spec.labels[DB_URL_LABEL] == f"sqlite:///{tmp_path}/tasador.db"


def test_environment_placeholders_expand_in_components_but_not_in_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9000")
    spec = load_spec(
        write(
            tmp_path,
            """
name: prod
labels: {tasador.db_url: "postgresql+psycopg://${PGUSER:-postgres}:${PGPASSWORD}@db/tasador"}
components:
  artifact_store:
    name: s3
    flavor: s3
    configuration:
      {path: "s3://bucket", client_kwargs: {endpoint_url: "${S3_ENDPOINT}"}, region: "${REGION:-us-east-1}"}
""",
        ),
        tmp_path,
    )
    config = spec.components[0].configuration
    assert config["client_kwargs"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert config["region"] == "us-east-1"
    assert "${PGPASSWORD}" in spec.labels[DB_URL_LABEL]


def test_missing_environment_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = write(
        tmp_path,
        "name: x\ncomponents:\n  orchestrator: {name: o, flavor: local, configuration: {a: '${NOT_SET_ANYWHERE}'}}\n",
    )
    with pytest.raises(StackSpecError, match="NOT_SET_ANYWHERE"):
        load_spec(path, tmp_path)


def test_malformed_and_missing_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(StackSpecError, match="needs a `name`"):
        load_spec(write(tmp_path, "just: text\n"), tmp_path)
    with pytest.raises(StackSpecError, match="No stack file"):
        load_spec(tmp_path / "nope.yaml", tmp_path)
