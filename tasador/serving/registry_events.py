"""The registry's event that the serving alias moved: MLflow's `model_version_alias.created` webhook.

MLflow signs each delivery as Standard Webhooks do (mlflow/webhooks/delivery.py): the header
`X-MLflow-Signature` is `v1,` + base64(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}.{body}")), with
`X-MLflow-Delivery-Id` and `X-MLflow-Timestamp` (Unix seconds). A delivery is accepted only with a valid
signature made within `max_age_s`, so a recorded request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
# What MLflow sends when an alias is set (new or moved); Final keeps it the literal MLflow's webhook API takes.
ALIAS_CREATED: Final = "model_version_alias.created"
ENCRYPTION_KEY_ENV = "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY"
_KEY_FILE = "mlflow-webhook-key"


class EventRefused(Exception):
    """The delivery is unsigned, wrongly signed, too old or not an alias event."""


class AliasEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    alias: str
    version: str


class AliasEvent(BaseModel):
    """A delivery's body (entity, action, timestamp, data), as MLflow's webhook sends it."""

    model_config = ConfigDict(extra="ignore")

    entity: str
    action: str
    timestamp: str
    data: AliasEventData


def signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The `X-MLflow-Signature` value MLflow sends for this delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verified_event(
    secret: str | None, headers: Mapping[str, str], body: bytes, max_age_s: float, now: float | None = None
) -> AliasEvent:
    """The alias event of a delivery whose signature holds; EventRefused (saying why) otherwise."""
    if not secret:
        raise EventRefused("The service has no webhook secret: set TASADOR_WEBHOOK_SECRET and apply the stack again.")
    delivery_id, timestamp, sent = (headers.get(h) for h in (DELIVERY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not (delivery_id and timestamp and sent):
        needed = f"{SIGNATURE_HEADER}, {TIMESTAMP_HEADER} and {DELIVERY_ID_HEADER}"
        raise EventRefused(f"Unsigned delivery: {needed} are required.")
    if not hmac.compare_digest(sent.encode(), signature(secret, delivery_id, timestamp, body).encode()):
        raise EventRefused("The signature does not match: the webhook's secret differs from TASADOR_WEBHOOK_SECRET.")
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError as exc:
        raise EventRefused(f"{TIMESTAMP_HEADER} is not Unix seconds: {timestamp!r}.") from exc
    if abs(age) > max_age_s:
        raise EventRefused(f"The delivery was signed {age:.0f} s ago (more than {max_age_s:g} s): refused as a replay.")
    try:
        event = AliasEvent.model_validate_json(body)
    except ValidationError as exc:
        raise EventRefused(f"The body is not an alias event ({exc.error_count()} errors).") from exc
    if f"{event.entity}.{event.action}" != ALIAS_CREATED:
        raise EventRefused(f"Not an alias event: {event.entity}.{event.action} (expected {ALIAS_CREATED}).")
    return event


def webhook_delivery_env(state_dir: Path, cache_ttl_s: int) -> dict[str, str]:
    """What an MLflow server needs to deliver the webhook to a service on loopback or a cluster network.

    MLflow refuses http and private addresses for webhooks unless told otherwise, and encrypts their secrets
    with MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY: without one it makes a key per process, and a restarted
    server cannot read the secret back. The key is the environment's, or one kept (0600) in `state_dir`.
    """
    key = os.environ.get(ENCRYPTION_KEY_ENV)
    if not key:
        path = state_dir / _KEY_FILE
        if not path.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))  # a Fernet key, as Fernet.generate_key makes
            path.chmod(0o600)
        key = path.read_text().strip()
    return {
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_CACHE_TTL": str(cache_ttl_s),
        ENCRYPTION_KEY_ENV: key,
    }
