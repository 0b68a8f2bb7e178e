"""Checks a pipeline makes before it starts: can it reach the services of the active stack?

A run that would die half-way on an unreachable S3 endpoint or database, or on S3 keys it does not have,
fails first, in one message that names every endpoint it could not reach or use and what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tasador.settings import Settings


class StackServicesUnavailable(RuntimeError):
    """One or more services of the active stack cannot be reached."""


def check_stack_services(
    settings: Settings,
    artifact_store_uri: str,
    s3_endpoint: str | None,
    s3_probe: Callable[[], object] | None = None,
    stack_file: str = "stacks/<name>.yaml",
    timeout_s: float | None = None,
) -> None:
    """Raise StackServicesUnavailable naming each unreachable endpoint: database, MLflow server, S3.

    `artifact_store_uri` is the ZenML artifact store's path; `s3_endpoint` its `client_kwargs.endpoint_url`
    (None for AWS itself, which is not probed). `s3_probe` touches the store with the keys the steps will
    use (the runner passes the artifact store's own `exists`), once its endpoint answers: missing or refused
    keys are named before any step runs. `stack_file` is what the fixes tell to apply again. Local paths and
    SQLite need no check.
    """
    timeout = timeout_s if timeout_s is not None else Settings().configs.services.timeouts.preflight_s
    problems = [
        problem
        for problem in (
            _database_problem(settings.database_url, timeout),
            _mlflow_problem(settings.tracking_uri, timeout),
            _s3_problem(artifact_store_uri, s3_endpoint, s3_probe, stack_file, timeout),
        )
        if problem
    ]
    if problems:
        raise StackServicesUnavailable(
            "The active stack's services are not all reachable or usable:\n- "
            + "\n- ".join(problems)
            + "\nStart them (`python run.py services up` for the local ones) or fix the stack "
            f"(`python run.py stack apply {stack_file}`), then run again."
        )


def _database_problem(url: str, timeout: float) -> str | None:
    if make_url(url).get_backend_name() == "sqlite":
        return None
    engine = create_engine(url, connect_args={"connect_timeout": max(1, round(timeout))})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        return f"RAW/CLEAN database {shown}: {_first_line(exc)} (stack label `tasador.db_url`)"
    finally:
        engine.dispose()
    return None


def _mlflow_problem(tracking_uri: str, timeout: float) -> str | None:
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return _http_problem(f"MLflow tracking server {tracking_uri}", tracking_uri.rstrip("/") + "/health", timeout)


def _s3_problem(
    artifact_store_uri: str, endpoint: str | None, probe: Callable[[], object] | None, stack_file: str, timeout: float
) -> str | None:
    if not artifact_store_uri.startswith("s3://"):
        return None
    if endpoint:
        unreachable = _http_problem(
            f"S3 endpoint {endpoint} (artifact store {artifact_store_uri}, `client_kwargs.endpoint_url`)",
            endpoint,
            timeout,
        )
        if unreachable:
            return unreachable
    return _s3_keys_problem(artifact_store_uri, probe, stack_file) if probe else None


def _s3_keys_problem(artifact_store_uri: str, probe: Callable[[], object], stack_file: str) -> str | None:
    fix = (
        f"run `python run.py stack apply {stack_file}` again, which stores the keys in the stack's ZenML "
        "secret: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when exported (a real S3 or MinIO), otherwise the "
        "dev-only keys `services up` gives moto"
    )
    try:
        probe()
    except KeyError as exc:  # ZenML: the secret the store's `key`/`secret` refer to is gone or lacks a key
        # ZenML's message names the component's whole config, then (after its last backtick) the secret.
        reason = str(exc.args[0]).rsplit("`", 1)[-1].strip(":. ")
        return f"S3 artifact store {artifact_store_uri}: its keys cannot be read ({reason}); {fix}."
    except NoCredentialsError:
        return f"S3 artifact store {artifact_store_uri}: no S3 keys reach this process; {fix}."
    except (PermissionError, ClientError, BotoCoreError) as exc:
        return f"S3 artifact store {artifact_store_uri} refuses the stack's keys ({_first_line(exc)}); {fix}."
    return None


def _http_problem(what: str, url: str, timeout: float) -> str | None:
    # Any HTTP answer means the server is up; S3 keys are checked by the probe, MLflow needs none here.
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{what}: not reachable ({type(exc).__name__}: {exc})"
    if response.status_code >= 500:
        return f"{what}: answers HTTP {response.status_code}"
    return None


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
