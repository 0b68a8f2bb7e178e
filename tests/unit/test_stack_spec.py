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


@pytest.mark.parametrize("stack", ["production", "airflow"])
def test_s3_keys_reach_the_artifact_store_through_a_secret_with_the_dev_keys_by_default(
    stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasador.services.config import DEV_S3_KEY, DEV_S3_SECRET

    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    spec = load_spec(REPO / "stacks" / f"{stack}.yaml", tmp_path)
    assert spec.secrets["tasador_s3"] == {"aws_access_key_id": DEV_S3_KEY, "aws_secret_access_key": DEV_S3_SECRET}
    store = {c.type: c for c in spec.components}["artifact_store"].configuration
    assert (store["key"], store["secret"]) == (
        "{{tasador_s3.aws_access_key_id}}",
        "{{tasador_s3.aws_secret_access_key}}",
    )

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "minio-user")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "minio-pass")
    secret = load_spec(REPO / "stacks" / f"{stack}.yaml", tmp_path).secrets["tasador_s3"]
    assert secret == {"aws_access_key_id": "minio-user", "aws_secret_access_key": "minio-pass"}
