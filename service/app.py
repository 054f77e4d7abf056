"""The FastAPI app: thin routes over `models.presubmission.score_unsent`.

The scoring context (champion and in-memory history) is loaded in `lifespan`, reached through
`Depends(scoring_context)`, and swapped for a fresh one in the background when the registry
promotes another champion; a request keeps the context it started with. Guards run in one ASGI
middleware, outermost first: bearer token, body size, then the access log, which records route,
status, latency and line count only (never bodies, identifiers or note text).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import duckdb
import polars as pl
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from data_contracts.input_contract import CLAIMS, NOTES
from models.presubmission import (
    NoChampionError,
    PresubmissionResult,
    ScoringContext,
    score_unsent,
)
from pipelines.sources.x12.claims import read_x12_claims
from service.fhir import FHIR_MEDIA_TYPE, FhirRequestError, bundle_for_result, claims_from_fhir
from service.schemas import (
    ErrorResponse,
    HealthResponse,
    ScoreRequest,
    ScoreResponse,
    contract_frame,
    field_path,
    score_response,
)
from service.security import bearer_matches, check_bind
from service.settings import ServiceSettings

logger = logging.getLogger("service")
access_logger = logging.getLogger("service.access")

X12_MEDIA_TYPE = "application/edi-x12"
JSON_MEDIA_TYPES = ("application/json",)
PUBLIC_PATHS = frozenset({"/healthz"})
FHIR_PATH = "/fhir/r4/Claim/$denial-risk"

ContextLoader = Callable[[ServiceSettings], ScoringContext]


def load_scoring_context(settings: ServiceSettings) -> ScoringContext:
    """The champion and the warehouse history, loaded read-only (the product's loader)."""
    return ScoringContext.load(settings.warehouse, settings.models_dir, settings.payer_rules_file)


class ContextHolder:
    """The current scoring context; checks the registry at most every `interval` seconds."""

    def __init__(self, settings: ServiceSettings, loader: ContextLoader) -> None:
        self._settings = settings
        self._loader = loader
        self._interval = settings.reload_check_seconds
        self._lock = threading.Lock()
        self._context: ScoringContext | None = None
        self._problem = "not loaded yet"
        self._checked_at = 0.0
        self._reloading = False

    def load(self) -> None:
        """Load (or reload) now; a missing champion leaves the previous context in place."""
        try:
            fresh = self._loader(self._settings)
        except (NoChampionError, duckdb.Error) as exc:
            # No champion yet, or the warehouse locked by a writer: retried at the next check.
            problem = str(exc) if isinstance(exc, NoChampionError) else "the warehouse is busy"
            with self._lock:
                changed, self._problem = problem != self._problem, problem
            if changed:
                logger.warning("no scoring context loaded: %s", problem)
            return
        with self._lock:
            previous = self._context
            self._context = fresh
            self._problem = ""
        if previous is None or previous.model_version != fresh.model_version:
            logger.info("serving champion %s", fresh.model_version)

    def current(self) -> ScoringContext | None:
        """The context to answer one request with; starts a background reload when one is due."""
        now = time.monotonic()
        with self._lock:
            due = not self._reloading and now - self._checked_at >= self._interval
            if due:
                self._checked_at = now
            context = self._context
        if due and (context is None or self._champion_changed(context)):
            self._reload_in_background()
        return context

    @property
    def problem(self) -> str:
        return self._problem

    def _champion_changed(self, context: ScoringContext) -> bool:
        try:
            return bool(context.champion_changed())
        except (OSError, ValueError) as exc:
            # A registry caught mid-promotion: keep serving, ask again at the next check.
            logger.warning("could not read the champion record: %s", type(exc).__name__)
            return False

    def _reload_in_background(self) -> None:
        with self._lock:
            if self._reloading:
                return
            self._reloading = True

        def reload() -> None:
            try:
                self.load()
            except Exception:
                logger.exception("reloading the scoring context failed; the old one stays")
            finally:
                with self._lock:
                    self._reloading = False

        threading.Thread(target=reload, name="champion-reload", daemon=True).start()


def scoring_context(request: Request) -> ScoringContext:
    """The context this request is answered with (503 while no champion is loaded)."""
    holder: ContextHolder = request.app.state.holder
    context = holder.current()
    if context is None:
        raise HTTPException(503, f"No champion model is loaded: {holder.problem}")
    return context


ScoringContextDep = Annotated[ScoringContext, Depends(scoring_context)]


class _BodyTooLarge(Exception):
    pass


def _json_bytes(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body).encode()


class GuardMiddleware:
    """Bearer token, body size limit and the access log, as one pure ASGI middleware."""

    def __init__(self, app: Any, settings: ServiceSettings, routes: list[Any]) -> None:
        self.app = app
        self.routes = routes
        self.token = settings.token
        self.max_body = settings.max_body_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}

        async def send_tracking(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                # Server time (request in to response headers out) for clients and benchmarks.
                elapsed_ms = (time.perf_counter() - started) * 1000
                timing = f"app;dur={elapsed_ms:.2f}".encode()
                message = {**message, "headers": [*message["headers"], (b"server-timing", timing)]}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await self._answer(send_tracking, *refusal)
        else:
            received = 0

            async def receive_limited() -> dict:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise _BodyTooLarge
                return message

            try:
                await self.app(scope, receive_limited, send_tracking)
            except _BodyTooLarge:
                if not status_holder["started"]:
                    await self._answer(send_tracking, *self._too_large())
            except Exception as exc:
                # The type and where it was raised, not the message: it may quote request values.
                where = traceback.extract_tb(exc.__traceback__)[-1]
                logger.error(
                    "unhandled %s on %s at %s:%d",
                    type(exc).__name__,
                    _route_of(scope, self.routes),
                    Path(where.filename).name,
                    where.lineno,
                )
                if not status_holder["started"]:
                    await self._answer(
                        send_tracking, *_json_bytes(500, {"detail": "internal error"})
                    )
        state = scope.get("state") or {}
        access_logger.info(
            "%s %s %d %.1fms lines=%s",
            scope["method"],
            _route_of(scope, self.routes),
            status_holder["status"],
            (time.perf_counter() - started) * 1000,
            state.get("line_count", "-"),
        )

    def _refusal(self, scope: dict) -> tuple[int, bytes] | None:
        headers = dict(scope["headers"])
        if self.token and scope["path"] not in PUBLIC_PATHS:
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            if not bearer_matches(authorization, self.token):
                return _json_bytes(401, {"detail": "missing or wrong bearer token"})
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return _json_bytes(
                    400, {"detail": [{"field": "Content-Length", "message": "not a number"}]}
                )
            if declared > self.max_body:
                return self._too_large()
        return None

    def _too_large(self) -> tuple[int, bytes]:
        return _json_bytes(413, {"detail": f"request body over the limit of {self.max_body} bytes"})

    @staticmethod
    async def _answer(send: Callable, status: int, body: bytes) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _route_of(scope: dict, routes: list[Any]) -> str:
    """The matched route's template (never a raw path a client made up)."""
    route = getattr(scope.get("route"), "path", None)
    if route is None and any(getattr(r, "path", None) == scope["path"] for r in routes):
        route = scope["path"]  # refused before routing (401, 413)
    return route or "unmatched"


def _errors_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "detail": [
            {"field": field_path(e.get("loc", ())), "message": e.get("msg", "")} for e in errors
        ]
    }


def _request_error(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(_errors_body(errors), status_code=422)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _count_lines(request: Request, frame: pl.DataFrame) -> None:
    request.state.line_count = frame.height


def _x12_claim_lines(body: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An 837P interchange as contract claim rows (strings) and its rejected segments."""
    with tempfile.TemporaryDirectory(prefix="denial-risk-837-") as folder:
        path = Path(folder) / "request.837"
        path.write_bytes(body)
        batch = read_x12_claims(path)
    rejected = batch.rejected.select(
        pl.lit(None, pl.String).alias("claim_id"),
        pl.lit(None, pl.String).alias("line_number"),
        pl.col("source_row"),
        pl.col("column_name").alias("field"),
        pl.col("reason"),
        pl.lit(None, pl.String).alias("value"),
    )
    return batch.claims, rejected


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token"},
    413: {"model": ErrorResponse, "description": "Body over the size limit"},
    415: {"model": ErrorResponse, "description": "Unsupported Content-Type"},
    422: {"model": ErrorResponse, "description": "Malformed request; `field` names the problem"},
    503: {"model": ErrorResponse, "description": "No champion model is loaded"},
}


def _score_request_body() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}},
            X12_MEDIA_TYPE: {
                "schema": {"type": "string", "description": "an 837P (005010X222A1) interchange"}
            },
        },
    }


def _fhir_request_body() -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "a FHIR R4 Claim, or a Bundle whose entries hold Claims (and the "
        "Patient and Coverage resources they reference) and DocumentReference notes",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": ["Claim", "Bundle"]}},
    }
    return {
        "required": True,
        "content": {FHIR_MEDIA_TYPE: {"schema": schema}, "application/json": {"schema": schema}},
    }


def _schemas_of(models: list[type[BaseModel]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


async def _score_in_worker(
    request: Request,
    claims: pl.DataFrame,
    notes: pl.DataFrame | None,
    context: ScoringContext,
) -> PresubmissionResult:
    """`score_unsent` in a worker thread, at most `scoring_threads` at once (the event loop and
    `/healthz` stay free; requests beyond the limit wait their turn in order)."""
    return await anyio.to_thread.run_sync(
        score_unsent, context, claims, notes, limiter=request.app.state.scoring_limiter
    )


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service app; the scoring context is loaded when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder = ContextHolder(settings, load_scoring_context)
        holder.load()
        app.state.holder = holder
        app.state.scoring_limiter = anyio.CapacityLimiter(settings.scoring_threads)
        yield

    app = FastAPI(
        title="denial-risk pre-submission check",
        version="1",
        description="Score unsent CPT 64520 claim lines: denial probability, reasons and "
        "deterministic edits, over JSON, X12 837P or FHIR R4. Synthetic-data product.",
        lifespan=lifespan,
    )
    # The router's own list: routes declared below are in it by the first request.
    app.add_middleware(GuardMiddleware, settings=settings, routes=app.router.routes)

    @app.exception_handler(RequestValidationError)
    async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _request_error(list(exc.errors()))

    @app.get("/healthz", response_model=HealthResponse, tags=["service"])
    def healthz(request: Request) -> dict[str, Any]:
        """Liveness; whether a champion is loaded and which (no token needed)."""
        context = request.app.state.holder.current()
        return {
            "status": "ok",
            "champion_loaded": context is not None,
            "model_version": None if context is None else context.model_version,
        }

    @app.get(
        "/v1/model",
        tags=["model"],
        responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]},
    )
    def model(context: ScoringContextDep) -> dict[str, Any]:
        """The champion: version, training window, metrics, reference quarters, features."""
        return context.describe()

    @app.post(
        "/v1/score",
        response_model=ScoreResponse,
        tags=["score"],
        responses=ERROR_RESPONSES,
        openapi_extra={"requestBody": _score_request_body()},
    )
    async def score(request: Request, context: ScoringContextDep) -> Any:
        """Score unsent claim lines given as JSON rows or as an 837P interchange."""
        body = await request.body()
        media_type = _media_type(request)
        x12_rejected: pl.DataFrame | None = None
        if media_type == X12_MEDIA_TYPE:
            claims, x12_rejected = _x12_claim_lines(body)
            notes = None
        elif media_type in JSON_MEDIA_TYPES or media_type == "":
            try:
                payload = ScoreRequest.model_validate_json(body)
            except ValidationError as exc:
                return _request_error(list(exc.errors()))
            claims = contract_frame(payload.claim_lines, CLAIMS)
            notes = None if payload.notes is None else contract_frame(payload.notes, NOTES)
        else:
            return JSONResponse(
                {
                    "detail": [
                        {
                            "field": "Content-Type",
                            "message": f"use application/json or {X12_MEDIA_TYPE}",
                        }
                    ]
                },
                status_code=415,
            )
        _count_lines(request, claims)
        result = await _score_in_worker(request, claims, notes, context)
        answer = score_response(result)
        if x12_rejected is not None and x12_rejected.height:
            answer["rejected"] = x12_rejected.to_dicts() + answer["rejected"]
        return answer

    @app.post(
        FHIR_PATH,
        tags=["fhir"],
        responses={
            **ERROR_RESPONSES,
            200: {"description": "a FHIR R4 Bundle (collection)", "content": {FHIR_MEDIA_TYPE: {}}},
        },
        openapi_extra={"requestBody": _fhir_request_body()},
    )
    async def fhir_denial_risk(request: Request, context: ScoringContextDep) -> Any:
        """Score FHIR R4 Claims; answer a Bundle of RiskAssessments and DetectedIssues."""
        body = await request.body()
        media_type = _media_type(request)
        if media_type not in (FHIR_MEDIA_TYPE, *JSON_MEDIA_TYPES, ""):
            return JSONResponse(
                {"detail": [{"field": "Content-Type", "message": f"use {FHIR_MEDIA_TYPE}"}]},
                status_code=415,
            )
        try:
            resource = json.loads(body)
            claims = claims_from_fhir(resource)
        except json.JSONDecodeError as exc:
            return _request_error([{"loc": ("body",), "msg": f"not JSON: {exc.msg}"}])
        except UnicodeDecodeError:
            return _request_error([{"loc": ("body",), "msg": "not UTF-8 text"}])
        except FhirRequestError as exc:
            return _request_error(exc.errors)
        _count_lines(request, claims.claim_lines)
        result = await _score_in_worker(request, claims.claim_lines, claims.notes, context)
        return JSONResponse(bundle_for_result(result, claims), media_type=FHIR_MEDIA_TYPE)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(_schemas_of([ScoreRequest, ErrorResponse]))
            if settings.token:
                components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                for path, operations in schema["paths"].items():
                    for operation in operations.values():
                        operation["security"] = [] if path in PUBLIC_PATHS else [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def serve(settings: ServiceSettings, host: str, port: int) -> None:
    """Run the service under uvicorn; refuses a non-loopback address without a token."""
    import uvicorn

    check_bind(host, settings.token)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # uvicorn's own access log would print client addresses and raw paths: ours replaces it.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)
