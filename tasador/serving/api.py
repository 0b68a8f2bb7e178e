"""The service's HTTP API: a FastAPI app that bento/service.py mounts into BentoML.

Routes reach the worker's Runtime through `app.state.runtime` (set when the BentoML service starts),
so the same app runs in-process for benchmarks. Every bad input is a 4xx naming the field.
"""

# No `from __future__ import annotations`: FastAPI must see the request classes built in create_app.

import datetime as dt
import hmac
import math
import uuid
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException

from tasador.configs import ServingConfig
from tasador.serving.columns import listings_columns
from tasador.serving.limits import RequestGuard
from tasador.serving.registry_events import EventRefused, verified_event
from tasador.serving.runtime import ModelUnavailable, Runtime
from tasador.serving.schemas import (
    EXAMPLE_LISTING,
    ErrorBody,
    Explanation,
    Health,
    ModelInfo,
    Prediction,
    Readiness,
    ReloadRequested,
    batch_model,
)

ROUTES = ("/predict", "/explain", "/model", "/health", "/ready", "/admin/reload", "/admin/registry-event")
#: Swagger UI's files as BentoML serves them with every service: the docs page needs no CDN, so it works offline.
SWAGGER_ASSETS = "/static_content"

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not valid JSON."},
    413: {"model": ErrorBody, "description": "The body is larger than the configured limit."},
    422: {"model": ErrorBody, "description": "A field is missing, of the wrong type or out of bounds."},
    503: {"model": ErrorBody, "description": "No model is loaded yet (see /ready)."},
}


def create_app(config: ServingConfig) -> FastAPI:
    predict_request = batch_model("PredictRequest", config.api.max_batch_rows)
    explain_request = batch_model("ExplainRequest", config.api.max_explain_rows)
    examples = {"one listing": {"value": {"listings": [EXAMPLE_LISTING]}}}
    # Classes made at run time (their caps come from the config): a type checker cannot see their fields.
    PredictBody = Annotated[predict_request, Body(openapi_examples=examples)]  # type: ignore[valid-type]
    ExplainBody = Annotated[explain_request, Body(openapi_examples=examples)]  # type: ignore[valid-type]

    app = FastAPI(
        title="tasador",
        version="1",
        description=(
            "House prices from the model the registry's `production` alias points at. "
            "A listing's unknown fields are refused (422 naming them), so a typo never becomes a missing value; "
            "`status` and `state` are required, every other field may be null or absent."
        ),
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: /docs below uses the local copy
        redoc_url=None,
    )
    app.add_middleware(RequestGuard, max_body_bytes=config.api.max_body_bytes, routes=ROUTES)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ModelUnavailable, _no_model)
    app.add_exception_handler(Exception, _internal_error)

    @app.post("/predict", responses=_ERRORS, summary="Price one or many listings")
    async def predict(request: Request, body: PredictBody) -> Prediction:
        runtime = _runtime(request)
        received_at = dt.datetime.now(dt.UTC)
        model = runtime.model()
        prices = model.predictor.predict(listings_columns(body.listings)).tolist()  # type: ignore[attr-defined]
        request_id = uuid.uuid4().hex
        # Starlette caches the parsed body: these are the listings exactly as the client sent them.
        as_received = (await request.json())["listings"]
        runtime.log.record(request_id, as_received, prices, model.version, received_at)
        runtime.metrics.predicted(model.version, prices)
        return Prediction(request_id=request_id, model_version=model.version, prices=prices)

    @app.post("/explain", responses=_ERRORS, summary="SHAP values of the price of each listing")
    def explain(request: Request, body: ExplainBody) -> Explanation:
        model = _runtime(request).model()
        columns = listings_columns(body.listings)  # type: ignore[attr-defined]
        shap = model.predictor.explain(columns)
        by_column = shap.by_column()
        return Explanation(
            model_version=model.version,
            prices=model.predictor.predict(columns).tolist(),
            base_value=shap.base_value,
            base_price=math.exp(shap.base_value),
            feature_names=shap.feature_names,
            values=shap.values.tolist(),
            columns=list(by_column.columns),
            column_values=by_column.to_numpy().tolist(),
        )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="tasador API",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-light-32x32.png",
        )

    # One OpenAPI document: BentoML would answer /docs.json with its own (3.0, without our examples and
    # errors), and / with its page (Google Tag Manager included); both lead to the API's own instead.
    @app.get("/docs.json", include_in_schema=False)
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/model", responses={503: _ERRORS[503]}, summary="The served model: version, metrics, decision")
    def model_info(request: Request) -> ModelInfo:
        watcher = _runtime(request).watcher
        model = _runtime(request).model()
        return model.info.model_copy(update={"status": "ready" if watcher.status == "ready" else "degraded"})

    @app.get("/health", summary="Liveness: the process answers")
    def health() -> Health:
        return Health()

    @app.get(
        "/ready",
        responses={503: {"model": Readiness, "description": "No model loaded yet."}},
        summary="Readiness: a model is loaded (status 'degraded' while MLflow is unreachable)",
    )
    def ready(request: Request) -> Readiness:
        watcher = _runtime(request).watcher
        current = watcher.current
        readiness = Readiness(
            ready=current is not None,
            status=watcher.status,
            model_version=current.version if current else None,
            detail=watcher.detail,
        )
        if current is None:
            return JSONResponse(readiness.model_dump(), status_code=503)  # type: ignore[return-value]
        return readiness

    @app.post(
        "/admin/reload",
        status_code=202,
        responses={401: {"model": ErrorBody, "description": "No or a wrong bearer token (TASADOR_ADMIN_TOKEN)."}},
        summary="Check the alias now in every worker (a forced reload); needs the admin bearer token",
    )
    def reload(request: Request) -> ReloadRequested:
        runtime = _runtime(request)
        # An empty TASADOR_ADMIN_TOKEN (a compose default) is no token: "Bearer " must not open the route.
        token = runtime.settings.admin_token.get_secret_value() if runtime.settings.admin_token else ""
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token}" if token else None
        if expected is None or not hmac.compare_digest(sent.encode(), expected.encode()):
            return _unauthorized(  # type: ignore[return-value]
                "Send the admin token as `Authorization: Bearer ...` (TASADOR_ADMIN_TOKEN of the service)."
                if token
                else "The service has no admin token: set TASADOR_ADMIN_TOKEN to enable /admin routes."
            )
        runtime.watcher.reload_signal.raise_("POST /admin/reload")
        return ReloadRequested(detail="Every worker checks the alias now and loads what it points at.")

    @app.post(
        "/admin/registry-event",
        status_code=202,
        responses={401: {"model": ErrorBody, "description": "Unsigned, wrongly signed or stale delivery."}},
        summary="MLflow's model_version_alias.created webhook (HMAC-signed): swap to the alias's new version",
    )
    async def registry_event(request: Request) -> ReloadRequested:
        runtime = _runtime(request)
        secret = runtime.settings.webhook_secret
        try:
            event = verified_event(
                secret.get_secret_value() if secret is not None else None,
                request.headers,
                await request.body(),
                runtime.config.registry_events.max_age_s,
            )
        except EventRefused as exc:
            return _unauthorized(str(exc))  # type: ignore[return-value]
        name, alias = runtime.settings.registered_model_name, runtime.settings.production_alias
        if (event.data.name, event.data.alias) != (name, alias):
            return ReloadRequested(detail=f"Ignored: the event is about {event.data.name}@{event.data.alias}.")
        runtime.watcher.reload_signal.raise_(f"{name}@{alias} -> version {event.data.version}")
        return ReloadRequested(detail=f"Every worker loads version {event.data.version} of {name}.")

    return app


def _unauthorized(message: str) -> JSONResponse:
    body = ErrorBody(error="unauthorized", message=message)
    return JSONResponse(body.model_dump(), status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    fields = [_field(e.get("loc", ())) for e in errors]
    message = "; ".join(f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, errors, strict=True))
    _runtime(request).metrics.errors.labels(kind="validation").inc()
    body = ErrorBody(
        error="malformed_json" if malformed else "invalid_input",
        message=f"The body is not valid JSON ({message}); send a JSON object."
        if malformed
        else f"Fix these fields and send again: {message}",
        fields=[] if malformed else fields,
    )
    return JSONResponse(body.model_dump(), status_code=400 if malformed else 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own refusals (a body it cannot read, an unknown route) in the same shape as ours."""
    assert isinstance(exc, HTTPException)
    if exc.status_code < 500:
        _runtime(request).metrics.errors.labels(kind="validation").inc()
    body = ErrorBody(error="bad_request" if exc.status_code == 400 else "http_error", message=str(exc.detail))
    return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=exc.headers)


async def _no_model(request: Request, exc: Exception) -> JSONResponse:
    _runtime(request).metrics.errors.labels(kind="no_model").inc()
    body = ErrorBody(error="no_model", message=str(exc))
    return JSONResponse(body.model_dump(), status_code=503)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    _runtime(request).metrics.errors.labels(kind="internal").inc()
    body = ErrorBody(
        error="internal",
        message=f"The service failed on this request ({type(exc).__name__}); it is logged, try again or report it.",
    )
    return JSONResponse(body.model_dump(), status_code=500)
