"""The registry's webhook that tells the service the serving alias moved, registered by `stack apply`.

MLflow (3.x, SQL-backed servers) calls it on `model_version_alias.created`, signed with the secret
TASADOR_WEBHOOK_SECRET (tasador.serving.registry_events checks the signature). A local MLflow store has
no server to send events, so the local stack has no webhook: the service polls. MLflow keeps the secret
encrypted and never shows it again, so a short SHA-256 fingerprint in the webhook's description tells
`stack apply` whether the secret changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stacks.apply import Applied
from stacks.spec import StackSpec
from tasador.registry.tracking import is_local_store
from tasador.serving.registry_events import ALIAS_CREATED
from tasador.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.webhook import Webhook

WEBHOOK_NAME = "tasador-serving-reload"
KIND = "registry_webhook"
_SHORT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def apply_registry_webhook(spec: StackSpec, settings: Settings) -> Applied:
    """Create or update the webhook named WEBHOOK_NAME so it matches the stack file and the secret."""
    url, tracking_uri = spec.registry_webhook_url, spec.tracking_uri
    if not url or not tracking_uri or is_local_store(tracking_uri):
        return Applied(KIND, WEBHOOK_NAME, "skipped", "a local MLflow store sends no events; the service polls")
    if settings.webhook_secret is None:
        return Applied(KIND, WEBHOOK_NAME, "skipped", "TASADOR_WEBHOOK_SECRET is not set; the service polls")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    secret = settings.webhook_secret.get_secret_value()
    description = f"tasador: the service reloads when the alias moves (secret sha256 {_fingerprint(secret)})"
    client = MlflowClient(tracking_uri, tracking_uri)
    try:
        with _short_requests():
            return _apply(client, url, description, secret)
    except (MlflowException, OSError) as exc:
        return Applied(
            KIND,
            WEBHOOK_NAME,
            "skipped",
            f"MLflow at {tracking_uri} refused or did not answer ({exc}); the service polls until "
            "`stack apply` runs again with the server up",
        )


def _apply(client: MlflowClient, url: str, description: str, secret: str) -> Applied:
    """Create or update the webhook; MLflow keeps it by id, so it is found by name."""
    existing = next((w for w in _all_webhooks(client) if w.name == WEBHOOK_NAME), None)
    if existing is None:
        client.create_webhook(WEBHOOK_NAME, url, [ALIAS_CREATED], description=description, secret=secret)
        return Applied(KIND, WEBHOOK_NAME, "registered")
    if (
        existing.url == url
        and [str(e) for e in existing.events] == [ALIAS_CREATED]
        and (existing.description == description)
    ):
        return Applied(KIND, WEBHOOK_NAME, "unchanged")
    client.update_webhook(existing.webhook_id, url=url, events=[ALIAS_CREATED], description=description, secret=secret)
    return Applied(KIND, WEBHOOK_NAME, "updated")


@contextmanager
def _short_requests() -> Iterator[None]:
    """MLflow's requests fail fast for this block (its default retries a down server for minutes)."""
    saved = {key: os.environ.get(key) for key in _SHORT}
    os.environ.update(_SHORT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _all_webhooks(client: MlflowClient) -> list[Webhook]:
    found: list[Webhook] = []
    token: str | None = None
    while True:
        page = client.list_webhooks(max_results=100, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
