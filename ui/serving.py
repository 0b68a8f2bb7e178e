"""The one place the app talks to the serving API (bento/service.py): paths and bodies live here only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

PREDICT_PATH = "/predict"
EXPLAIN_PATH = "/explain"
MODEL_PATH = "/model"
READY_PATH = "/ready"  # BentoML itself answers /readyz (plain text)


class ServingUnavailable(Exception):
    """The service did not answer (down, unreachable, or too slow)."""


class ServingRefused(Exception):
    """The service answered with an error: a listing it refuses (4xx) or a failure of its own (5xx)."""


@dataclass(frozen=True)
class Prediction:
    price: float
    model_version: str
    request_id: str


@dataclass(frozen=True)
class Explanation:
    model_version: str
    base_value: float  # the model's expected output in log dollars, before any feature
    contributions: dict[str, float]  # field of the listing -> SHAP value in log dollars


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str
    model_version: str | None


class ServingClient:
    """Calls of the serving API for one listing at a time, with errors a page can show as they are."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def readiness(self, timeout_s: float | None = None) -> Readiness:
        """Whether the service has a model to serve; never raises for a service that is down."""
        try:
            body = self._call("GET", READY_PATH, timeout_s=timeout_s, accept_status=(503,))
        except (ServingUnavailable, ServingRefused) as exc:
            return Readiness(ready=False, detail=str(exc), model_version=None)
        return Readiness(
            ready=bool(body.get("ready")),
            detail=str(body.get("detail", "")),
            model_version=body.get("model_version"),
        )

    def model_info(self) -> dict[str, Any]:
        return self._call("GET", MODEL_PATH)

    def predict(self, listing: dict[str, Any]) -> Prediction:
        body = self._call("POST", PREDICT_PATH, json={"listings": [listing]})
        return Prediction(
            price=float(body["prices"][0]),
            model_version=str(body["model_version"]),
            request_id=str(body.get("request_id", "")),
        )

    def explain(self, listing: dict[str, Any]) -> Explanation:
        """SHAP values per field of the listing (the service sums its engineered features per field)."""
        body = self._call("POST", EXPLAIN_PATH, json={"listings": [listing]})
        values = map(float, body["column_values"][0])
        return Explanation(
            model_version=str(body["model_version"]),
            base_value=float(body["base_value"]),
            contributions=dict(zip(body["columns"], values, strict=True)),
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        accept_status: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = httpx.request(method, url, json=json, timeout=timeout_s or self.timeout_s)
        except httpx.TimeoutException as exc:
            raise ServingUnavailable(
                f"The prediction service at {self.base_url} did not answer within {timeout_s or self.timeout_s} s; "
                "check its logs, or try again in a moment."
            ) from exc
        except httpx.HTTPError as exc:
            raise ServingUnavailable(
                f"The prediction service at {self.base_url} is not reachable ({type(exc).__name__}). "
                "Start it with `make serve`, or set TASADOR_SERVING_URL to where it runs."
            ) from exc
        if not (response.is_success or response.status_code in accept_status):
            raise ServingRefused(_error_message(response))
        try:
            return response.json()
        except ValueError as exc:
            raise ServingRefused(
                f"{url} answered {response.status_code} with a body that is not JSON: "
                "is TASADOR_SERVING_URL the tasador service?"
            ) from exc


def _error_message(response: httpx.Response) -> str:
    """The service's own message (ErrorBody: error, message, fields) when it sent one."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("message") or body.get("detail") or response.text[:300] or response.reason_phrase
    fields = body.get("fields") or []
    where = f" (fields: {', '.join(map(str, fields))})" if fields else ""
    return f"The prediction service answered {response.status_code}: {message}{where}"
